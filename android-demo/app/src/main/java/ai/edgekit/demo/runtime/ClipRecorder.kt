package ai.edgekit.demo.runtime

import ai.edgekit.demo.core.listen.ClipCapture

/**
 * Records one clip of exactly [samples] samples at [rate] Hz from the microphone ([Microphone],
 * 16-bit mono, floats as [ClipCapture] makes them): [record] blocks the calling thread (not the
 * UI's) until the clip is full, then frees the microphone. The caller holds the RECORD_AUDIO
 * permission.
 */
class ClipRecorder(private val rate: Int, private val samples: Int) {
    /** The clip; IllegalStateException saying why when the microphone cannot record, fails
     * while recording or gives too few samples within the clip's length plus [slackMillis]. */
    fun record(slackMillis: Long = SLACK_MILLIS): FloatArray {
        val capture = ClipCapture(samples)
        var failure: String? = null
        val microphone = Microphone(
            rate,
            { pcm, n -> capture.write(pcm, n) },
            { why -> failure = why },
        )
        microphone.start() // IllegalStateException when it cannot record
        val clip = try {
            capture.await(samples * 1000L / rate + slackMillis)
        } finally {
            microphone.stop()
        }
        failure?.let { throw IllegalStateException(it) }
        return clip ?: throw IllegalStateException(
            "the microphone gave ${capture.captured} of $samples samples in time",
        )
    }

    private companion object {
        const val SLACK_MILLIS = 2_000L // the microphone's start-up and the platform's buffering
    }
}
