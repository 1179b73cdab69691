package ai.edgekit.demo.core.detect

/** `count` windows of a stream, row-major `(count, clip)`, the first being window [first]. */
class Windows(val first: Long, val count: Int, val pcm: FloatArray)

/**
 * The windows of a stream of PCM fed in chunks of any size, as `edgekit.device.detect`'s
 * `StreamDetector` cuts them: window k is [clip] samples centred on sample `k * hop`, read as if
 * zeros came before the stream's first sample and after its last; windows run while their centre
 * is inside the stream. They come in groups of [batch] once a group's last window is complete
 * (the program's batches, and so its results, are then the same however the chunks come), the
 * rest on [flush]. It holds at most `clip + 2 * batch * hop` samples whatever the stream's length.
 */
class WindowStream(val clip: Int, val hop: Int, val batch: Int) {
    private var seen = 0L // samples fed
    private var next = 0L // the next window to cut
    private var buf = FloatArray(0) // samples from bufStart on
    private var used = 0 // of buf
    private var bufStart = 0L // stream position of buf[0]

    /** Samples fed since the stream began. */
    val samples: Long get() = seen

    /** Samples held now (at most `clip + 2 * batch * hop` between calls). */
    internal val held: Int get() = used

    init {
        require(clip >= 1 && batch >= 1) { "clip and batch must be >= 1" }
        require(hop in 1..clip) { "hop $hop must be within one window (1..$clip samples)" }
        reset()
    }

    /** Forget the stream: the next sample fed is the first of a new one. */
    fun reset() {
        seen = 0
        next = 0
        buf = FloatArray(clip + 2 * batch * hop)
        used = clip / 2 // the zeros before the stream
        bufStart = -(clip / 2).toLong()
    }

    /** Adds [chunk] to the stream; the groups of windows it completes. A chunk holding NaN or
     * infinity is refused whole (IllegalArgumentException) and the stream goes on without it. */
    fun feed(chunk: FloatArray): List<Windows> {
        val bad = chunk.indexOfFirst { !it.isFinite() }
        require(bad < 0) { "the stream holds NaN or Inf (sample ${seen + bad})" }
        val out = ArrayList<Windows>()
        val step = batch * hop // what the buffer takes between two cuts
        var start = 0
        while (start < chunk.size) {
            val n = minOf(step, chunk.size - start)
            append(chunk, start, n)
            seen += n
            start += n
            out += cut(ready())
        }
        return out
    }

    /** Ends the stream: its last windows (zeros after it); then ready for a new stream. */
    fun flush(): List<Windows> {
        val last = Math.floorDiv(seen + hop - 1, hop.toLong()) // windows centred in the stream
        val end = (last - 1) * hop - clip / 2 + clip // the last window's end
        val pad = maxOf(0L, end - seen).toInt()
        append(FloatArray(pad), 0, pad)
        val out = ArrayList<Windows>()
        while (next < last) out += cut(minOf(batch.toLong(), last - next).toInt())
        reset()
        return out
    }

    /** Windows to cut now: whole groups of [batch] whose last window is complete. */
    private fun ready(): Int {
        val start = next * hop - clip / 2
        val complete = maxOf(0L, Math.floorDiv(seen - clip - start, hop.toLong()) + 1)
        return (complete / batch * batch).toInt()
    }

    private fun cut(n: Int): List<Windows> {
        val out = ArrayList<Windows>()
        var left = n
        while (left > 0) {
            val count = minOf(batch, left)
            left -= count
            val offset = (next * hop - clip / 2 - bufStart).toInt()
            val pcm = FloatArray(count * clip)
            for (i in 0 until count) System.arraycopy(buf, offset + i * hop, pcm, i * clip, clip)
            out += Windows(next, count, pcm)
            next += count
            drop((next * hop - clip / 2 - bufStart).toInt()) // what no later window needs
        }
        return out
    }

    private fun append(source: FloatArray, from: Int, n: Int) {
        if (used + n > buf.size) buf = buf.copyOf(maxOf(used + n, 2 * buf.size))
        System.arraycopy(source, from, buf, used, n)
        used += n
    }

    private fun drop(n: Int) {
        check(n <= used) { "a window was cut before its samples came" }
        if (n <= 0) return
        System.arraycopy(buf, n, buf, 0, used - n)
        used -= n
        bufStart += n
    }
}
