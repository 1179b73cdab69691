package ai.edgekit.demo.core.listen

import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit

/**
 * One clip of exactly [samples] samples from a stream of 16-bit PCM, as `embed` takes it
 * (floats as the Python SDK reads a 16-bit file, [Pcm16]): the recording thread [write]s
 * what the microphone reads, the first [samples] samples are kept and the rest ignored; another
 * thread [await]s the full clip.
 */
class ClipCapture(val samples: Int) {
    private val clip = FloatArray(samples)
    private val full = CountDownLatch(1)

    @Volatile private var filled = 0

    init {
        require(samples > 0) { "a clip has at least one sample, not $samples" }
    }

    /** Samples kept so far. */
    val captured: Int get() = filled

    /** Keep what is missing of the clip from [n] samples of [pcm]; true once it is full. */
    fun write(pcm: ShortArray, n: Int): Boolean {
        val take = minOf(n, samples - filled)
        if (take > 0) {
            Pcm16.toFloat(pcm, 0, take, clip, filled)
            filled += take
            if (filled == samples) full.countDown()
        }
        return filled == samples
    }

    /** The clip once full, waiting at most [millis]; null if it is not full by then. */
    fun await(millis: Long): FloatArray? =
        if (full.await(millis, TimeUnit.MILLISECONDS)) clip.copyOf() else null
}
