package ai.edgekit.demo.core.listen

import ai.edgekit.demo.core.detect.DetectConfig
import ai.edgekit.demo.core.detect.Event
import ai.edgekit.demo.core.detect.EventPicker
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.program.KwsProgram

/**
 * What one [LiveDetector.step] heard: the [events] that closed, the [windows] run and the
 * windows [dropped] before them (overruns), the keywords' posteriors of the newest window run
 * ([latest], in [LiveDetector.keywords] order; null when none ran) and the stream time, in
 * seconds, of that window's centre ([seconds]; NaN when none ran).
 */
class Heard(
    val events: List<Event>,
    val windows: Int,
    val dropped: Long,
    val latest: FloatArray?,
    val seconds: Double,
) {
    companion object {
        val NOTHING = Heard(emptyList(), 0, 0, null, Double.NaN)
    }
}

/**
 * Keyword spotting on a live stream of 16-bit PCM at the bundle's rate, as the Python SDK
 * detects keywords in a recording (`Learner.detect`): the windows of `edgekit.device.detect`
 * through the program's `embed` (raw PCM in: the front-end is inside the program), `classify`
 * with the current [weights] and [mask] as explicit inputs, the softmax over the live slots
 * ([Softmax]), then smoothing, threshold and refractory time ([EventPicker]) with the
 * manifest's detection settings unless [config] says otherwise. On the same audio, with no
 * overrun, the events are Python's (`make android-check` compares them).
 *
 * Each window is run as soon as it is complete, for the least delay; when the detector is
 * behind, the windows waiting go through one `embed` and one `classify` call in groups of up
 * to `min(config.batch, maxBatch)`. The ring holds [backlogSeconds] of windows waiting; past
 * that the oldest are dropped and counted, and each dropped window reaches the event picker as
 * nothing heard (posteriors 0), so event times stay on the stream's clock.
 *
 * One thread records ([write]); one other runs [step] and [finish]. [weights] (in the
 * manifest's trainable order), [labels] (the label of each slot in use) and [mask] (1 for the
 * live slots) are read once: a detector listens with the model it was made with.
 */
class LiveDetector(
    private val program: KwsProgram,
    weights: List<NdArray.Float32>,
    labels: List<String>,
    mask: FloatArray,
    val config: DetectConfig = program.manifest.detection,
    backlogSeconds: Double = DEFAULT_BACKLOG_SECONDS,
) {
    private val manifest = program.manifest
    private val weights = weights.toList()
    private val mask = mask.copyOf()

    /** Samples per second of the PCM written. */
    val rate: Int = manifest.sampleRate

    /** Samples between window centres: Python's `round` (half to even) of hop seconds. */
    val hop: Int = Math.rint(config.hopSeconds * rate).toInt()

    /** Most windows per `embed` / `classify` call. */
    val batch: Int = minOf(config.batch, manifest.maxBatch)

    /** The keywords searched for and their slots. */
    val keywords = Keywords(labels, this.mask, config.keywords)

    /** The samples waiting for the detector; the recorder writes here ([write]). */
    val ring: PcmRing

    private val picker: EventPicker

    init {
        require(mask.size == manifest.maxClasses) {
            "the mask has ${mask.size} slots, the bundle ${manifest.maxClasses}"
        }
        require(weights.size == manifest.trainable.size) {
            "${weights.size} weight tensors, the bundle trains ${manifest.trainable.size}"
        }
        manifest.trainable.zip(weights) { spec, w ->
            require(spec.shape.contentEquals(w.shape)) {
                "${spec.name} has shape ${w.shape.toList()}, the bundle says ${spec.shape.toList()}"
            }
        }
        require(backlogSeconds.isFinite() && backlogSeconds >= 0) { "backlog $backlogSeconds s" }
        val clip = manifest.clipSamples
        val backlog = maxOf(batch, Math.ceil(backlogSeconds * rate / hop).toInt()) // windows
        ring = PcmRing(clip, hop, clip + backlog * hop)
        picker = EventPicker(config, keywords.names, hop, clip / 2, rate)
    }

    /** Appends [n] samples of 16-bit PCM from [from] to the stream (the recording thread). */
    fun write(pcm: ShortArray, from: Int = 0, n: Int = pcm.size - from) = ring.write(pcm, from, n)

    /** Runs the windows waiting, up to [batch], after waiting up to [timeoutMillis] for one. */
    fun step(timeoutMillis: Long = 0): Heard {
        val taken = ring.take(batch, timeoutMillis) ?: return Heard.NOTHING
        return run(taken)
    }

    /** Ends the stream: its last windows (zeros after it) and the event still open. */
    fun finish(): List<Event> {
        ring.end()
        val events = ArrayList<Event>()
        while (true) {
            val taken = ring.take(batch) ?: break
            events += run(taken).events
        }
        return events + picker.close(ring.written)
    }

    private fun run(taken: Taken): Heard {
        val silent = List(taken.dropped.toInt()) { FloatArray(keywords.names.size) }
        var rows = silent
        var latest: FloatArray? = null
        if (taken.count > 0) {
            val features = program.embed(taken.pcm, taken.count)
            check(features.all { it.isFinite() }) {
                "the program gave non-finite features for the window at ${centre(taken.first)} s"
            }
            val logits = program.classify(features, taken.count, mask, weights)
            val probabilities = Softmax.probabilities(logits, taken.count, mask)
            val heard = keywords.rows(probabilities, taken.count)
            latest = heard.last()
            rows = silent + heard
        }
        val last = taken.first + taken.count - 1
        return Heard(picker.push(rows), taken.count, taken.dropped, latest, centre(last))
    }

    private fun centre(window: Long): Double = window.toDouble() * hop / rate

    companion object {
        /** Seconds of windows the ring keeps for a detector that falls behind. */
        const val DEFAULT_BACKLOG_SECONDS = 2.0
    }
}
