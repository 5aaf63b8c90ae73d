import Testing
@testable import Plotting

@Test func plottingModuleLinks() { _ = Plotting.self }
