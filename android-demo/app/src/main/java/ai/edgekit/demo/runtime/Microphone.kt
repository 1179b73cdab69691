package ai.edgekit.demo.runtime

import android.media.AudioFormat
import android.media.AudioRecord
import android.media.MediaRecorder
import android.os.Process

/**
 * The phone's microphone as 16-bit mono PCM at [rate] Hz (`AudioRecord`), read by a thread of
 * its own: each read goes to [sink] (samples, count) on that thread, which must return quickly
 * (copying into the detector's ring does). A failed read goes to [onError] and ends the
 * recording. The caller holds the RECORD_AUDIO permission before [start].
 *
 * The source is VOICE_RECOGNITION, tuned for speech recognisers: Android's compatibility rules
 * require noise reduction and automatic gain off for it, so the audio is the closest the phone
 * gives to the plain recordings a model learnt from.
 */
class Microphone(
    private val rate: Int,
    private val sink: (ShortArray, Int) -> Unit,
    private val onError: (String) -> Unit,
) : AutoCloseable {
    @Volatile private var running = false
    private var record: AudioRecord? = null
    private var reader: Thread? = null

    /** Opens the microphone and starts reading; IllegalStateException when it cannot record
     * (permission refused, microphone busy or this rate unsupported), saying why. */
    fun start() {
        check(record == null) { "the microphone is already recording" }
        val min = AudioRecord.getMinBufferSize(rate, CHANNEL, ENCODING) // bytes, < 0 on error
        check(min > 0) { "this phone cannot record 16-bit mono at $rate Hz" }
        val chunk = rate * READ_MILLIS / 1000 // samples per read
        val bytes = maxOf(min, 2 * rate * BUFFER_MILLIS / 1000) // the platform's backlog
        val opened = try {
            AudioRecord(SOURCE, rate, CHANNEL, ENCODING, bytes)
        } catch (e: SecurityException) {
            throw IllegalStateException("recording is not allowed (${e.message})", e)
        } catch (e: IllegalArgumentException) {
            throw IllegalStateException("the microphone refused its settings (${e.message})", e)
        }
        try {
            check(opened.state == AudioRecord.STATE_INITIALIZED) { "the microphone did not open" }
            opened.startRecording()
            check(opened.recordingState == AudioRecord.RECORDSTATE_RECORDING) {
                "the microphone did not start: another app may be recording"
            }
        } catch (e: IllegalStateException) {
            opened.release()
            throw e
        }
        record = opened
        running = true
        reader = Thread({ read(opened, chunk) }, "microphone").also { it.start() }
    }

    /** Stops recording and frees the microphone; waits for the reading thread to end. */
    fun stop() {
        val opened = record ?: return
        running = false
        try {
            opened.stop() // a read in progress returns
        } catch (_: IllegalStateException) {
            // already stopped: the reader ended on an error
        }
        reader?.join()
        opened.release()
        record = null
        reader = null
    }

    override fun close() = stop()

    private fun read(opened: AudioRecord, chunk: Int) {
        Process.setThreadPriority(Process.THREAD_PRIORITY_URGENT_AUDIO)
        val buffer = ShortArray(chunk)
        while (running) {
            val n = opened.read(buffer, 0, buffer.size) // blocks until the chunk is read
            if (n < 0) {
                if (running) onError("the microphone stopped (AudioRecord error $n)")
                return
            }
            if (n > 0) sink(buffer, n)
        }
    }

    private companion object {
        const val SOURCE = MediaRecorder.AudioSource.VOICE_RECOGNITION
        const val CHANNEL = AudioFormat.CHANNEL_IN_MONO
        const val ENCODING = AudioFormat.ENCODING_PCM_16BIT
        const val READ_MILLIS = 20 // per read: what the detector's ring receives at a time
        const val BUFFER_MILLIS = 500 // the platform keeps this much if the reader is late
    }
}
