package ai.edgekit.demo.core.listen

import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock

/**
 * Windows taken from a [PcmRing]: [count] windows from window [first], row-major
 * `(count, clip)`; [dropped] windows just before [first] were lost to an overrun since the
 * previous take (the detector fell so far behind that their samples were overwritten).
 */
class Taken(val first: Long, val count: Int, val pcm: FloatArray, val dropped: Long)

/**
 * The samples of a live stream between the thread that records and the one that detects.
 *
 * Window k is [clip] samples centred on the stream's sample `k * hop`, read as if zeros came
 * before the first sample: the windows of `edgekit.device.detect`. A window is due as soon as
 * its last sample is written, so one comes every [hop] samples, each ending with the newest
 * samples (its centre half a window behind them). [end] ends the stream: the windows whose
 * centre lies in it become due, zeros after its last sample, as Python's `flush` cuts them.
 *
 * The ring holds the last [capacity] samples (at least `clip + hop`, the newest due window
 * always fits). The recorder never waits: when the detector falls so far behind that a due
 * window's samples were overwritten, that window is dropped, counted in [dropped], and the
 * detector goes on from the oldest window still held. One thread writes, one takes.
 */
class PcmRing(val clip: Int, val hop: Int, val capacity: Int) {
    private val lock = ReentrantLock()
    private val ready = lock.newCondition() // signalled when samples come or the stream ends
    private val buf = FloatArray(capacity) // stream sample p at buf[p % capacity]
    private var seen = 0L // samples written since the stream began
    private var next = 0L // the next window to take
    private var ended = false
    private var lost = 0L // windows dropped since the stream began

    init {
        require(clip >= 1) { "a window must hold at least one sample, not $clip" }
        require(hop in 1..clip) { "hop $hop must be within one window (1..$clip samples)" }
        require(capacity >= clip + hop) { "capacity $capacity is under a window and a hop" }
    }

    /** Samples written since the stream began. */
    val written: Long get() = lock.withLock { seen }

    /** Windows dropped since the stream began (overruns). */
    val dropped: Long get() = lock.withLock { lost }

    /** Windows due and not taken yet (those that will be dropped included). */
    val pending: Long get() = lock.withLock { lastDue() - next }

    /** True once the stream ended and every window was taken or dropped. */
    val finished: Boolean get() = lock.withLock { ended && next >= lastDue() }

    /** Appends [n] samples of 16-bit PCM from [from], scaled as [Pcm16] reads them. */
    fun write(pcm: ShortArray, from: Int = 0, n: Int = pcm.size - from) {
        require(n >= 0 && from >= 0 && from + n <= pcm.size) { "no $n samples from $from" }
        put(n) { offset, count, at -> Pcm16.toFloat(pcm, from + offset, count, buf, at) }
    }

    /** Appends [n] float samples of [pcm] from [from]; NaN or infinity is refused whole. */
    fun write(pcm: FloatArray, from: Int = 0, n: Int = pcm.size - from) {
        require(n >= 0 && from >= 0 && from + n <= pcm.size) { "no $n samples from $from" }
        for (i in from until from + n) require(pcm[i].isFinite()) { "sample $i is ${pcm[i]}" }
        put(n) { offset, count, at -> System.arraycopy(pcm, from + offset, buf, at, count) }
    }

    /** Ends the stream: its last windows become due; nothing may be written after. */
    fun end() = lock.withLock {
        ended = true
        ready.signalAll()
    }

    /**
     * Up to [max] due windows, the oldest first, waiting up to [timeoutMillis] for one; null
     * when none came in that time or the stream is [finished]. Windows overwritten before they
     * were taken are skipped and counted in the result's `dropped`.
     */
    fun take(max: Int, timeoutMillis: Long = 0): Taken? {
        require(max >= 1) { "take at least one window, not $max" }
        lock.withLock {
            var nanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis)
            while (lastDue() <= next && !ended) {
                if (nanos <= 0) return null
                nanos = ready.awaitNanos(nanos)
            }
            val oldest = firstHeld()
            val skipped = maxOf(0L, oldest - next)
            next += skipped
            lost += skipped
            val count = minOf(max.toLong(), lastDue() - next).toInt()
            if (count <= 0 && skipped == 0L) return null
            val pcm = FloatArray(maxOf(count, 0) * clip)
            for (i in 0 until count) copy((next + i) * hop - clip / 2, pcm, i * clip)
            val taken = Taken(next, maxOf(count, 0), pcm, skipped)
            next += taken.count
            return taken
        }
    }

    private inline fun put(n: Int, copy: (offset: Int, count: Int, at: Int) -> Unit) {
        lock.withLock {
            check(!ended) { "the stream ended: start a new one" }
            val skip = maxOf(0, n - capacity) // samples the same write would overwrite
            seen += skip
            var offset = skip
            while (offset < n) {
                val at = (seen % capacity).toInt()
                val count = minOf(n - offset, capacity - at)
                copy(offset, count, at)
                offset += count
                seen += count
            }
            ready.signalAll()
        }
    }

    /** One past the last window due: complete, or (once ended) centred in the stream. */
    private fun lastDue(): Long =
        if (ended) {
            Math.floorDiv(seen + hop - 1, hop.toLong())
        } else {
            maxOf(0L, Math.floorDiv(seen - (clip - clip / 2), hop.toLong()) + 1)
        }

    /** The oldest window whose samples are all still held. */
    private fun firstHeld(): Long {
        val oldest = seen - capacity // the oldest sample held, when > 0
        return if (oldest <= 0) 0L else Math.floorDiv(oldest + clip / 2 + hop - 1, hop.toLong())
    }

    /** Stream samples from [start] on into [target] (zeros) at [at]: what was written. */
    private fun copy(start: Long, target: FloatArray, at: Int) {
        var i = minOf(maxOf(0L, -start), clip.toLong()).toInt() // zeros before the stream
        val end = minOf(clip.toLong(), seen - start).toInt() // zeros after its last sample
        while (i < end) {
            val index = ((start + i) % capacity).toInt()
            val count = minOf(end - i, capacity - index)
            System.arraycopy(buf, index, target, at + i, count)
            i += count
        }
    }
}
