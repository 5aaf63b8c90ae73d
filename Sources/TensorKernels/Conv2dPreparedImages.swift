/// A per-call buffer of `images` prepared images (`imgStride` floats each) with `convSlack` zero
/// floats on both sides, built on demand by `build(image, dst)`.
struct PreparedImages {
    let buf: ScratchBuffer
    let x: UnsafeMutablePointer<Float>
    let imgStride: Int
    let images: Int
    let flags: OnceFlags

    init(images: Int, imgStride: Int) {
        self.images = images
        self.imgStride = imgStride
        let total = images * imgStride + 2 * convSlack
        buf = ScratchBuffer(total)
        let raw = buf.p
        raw.update(repeating: 0, count: convSlack)
        (raw + convSlack + images * imgStride).update(repeating: 0, count: convSlack)
        x = raw + convSlack
        flags = OnceFlags(images)
    }

    func free() {
        buf.free()
        flags.free()
    }

    @inline(__always)
    func ensure(_ lo: Int, _ hi: Int, _ build: (Int, UnsafeMutablePointer<Float>) -> Void) {
        for i in max(lo, 0)..<min(hi, images) {
            flags.ensure(i) { build(i, x + i * imgStride) }
        }
    }
}
