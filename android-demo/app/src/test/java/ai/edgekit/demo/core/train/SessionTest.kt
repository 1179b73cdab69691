package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.npy.NdArray
import org.junit.Test
import kotlin.math.abs
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertNotEquals
import kotlin.test.assertSame
import kotlin.test.assertTrue

/**
 * Enrolment and personalisation sessions over the real bundle's D0 and the program's real
 * features of new clips, through a [RecordingStep] (the bundle trains two layers, so no exact
 * stand-in of the program is written here): the batches the session builds (user rows once per
 * epoch with their targets, pool rows from D0 and the replay set of live slots only), one
 * optimizer per session, clipped gradients, mean losses, the state it returns.
 */
class SessionTest {
    private val manifest get() = TrainData.bundle.manifest
    private val width get() = manifest.featureSize
    private val real by lazy {
        TrainData.arrays(TrainData.cases("sgd_step.json")[0].obj("gradients"))
    }
    private val imprintGradients by lazy {
        TrainData.arrays(TrainData.doc("imprint.json").obj("gradients"))
    }

    private fun learning(config: TrainConfig = TrainConfig()): Learning {
        val (x, y) = TrainData.bundle.d0()
        return Learning(manifest, x, y, config)
    }

    @Test
    fun `an enrolment imprints, then trains the new word mixed with D0`() {
        val start = LearnerState.initial(manifest, TrainData.bundle.weights())
        val noise = TrainData.noiseFeatures()
        val step = RecordingStep { call, _, _ ->
            if (call == 1) StepGradients(0f, imprintGradients) else StepGradients(call / 8f, real)
        }
        val progress = ArrayList<Progress>()
        val outcome = learning().enrol(
            start,
            step,
            "noise",
            noise,
            epochs = 3,
            listener = { progress += it },
        )
        val out = assertIs<SessionOutcome.Trained>(outcome)
        assertEquals(listOf(0.05 to 0.9), step.sessions, "one optimizer for the session")
        assertEquals(2, step.loads.size) // imprint's start, then the session's imprinted weights
        val c = Imprint.classifier(manifest.trainable)!!
        val imprinted = step.loads[1].getValue(c.weight.name).data
        assertNotEquals(start.weights.getValue(c.weight.name).data.toList(), imprinted.toList())
        // mix max(0.5, 1 - 1/4 live): 6 of 8 rows from D0, 2 user rows: 3 steps per epoch
        val training = step.batches.drop(1)
        assertEquals(9, training.size)
        val (d0x, d0y) = TrainData.bundle.d0()
        for ((e, epoch) in training.chunked(3).withIndex()) {
            val seen = ArrayList<Int>()
            for (b in epoch) {
                for (r in 0 until 2) {
                    seen += rowOf(noise.data, b.features, r)
                    assertEquals(3L, b.labels[r])
                }
                for (r in 2 until 8) {
                    val at = rowOf(d0x.data, b.features, r)
                    assertTrue(at >= 0, "a pool row is not a D0 row")
                    assertEquals(d0y.data[at], b.labels[r])
                }
            }
            assertEquals((0 until 5).toList(), seen.take(5).sorted(), "epoch $e: each clip once")
        }
        assertTrue(step.masks.all { it.contentEquals(floatArrayOf(1f, 1f, 1f, 1f)) })
        assertEquals(9, step.applied.size)
        for (g in step.applied) assertTrue(abs(Gradients.globalNorm(g) - 1.0) < 1e-5, "clipped")
        val expected = listOf(3.0, 6.0, 9.0).map { (it - 1 + it + it + 1) / 3 / 8 }
        for (e in 0 until 3) assertTrue(abs(out.losses[e] - expected[e]) < 1e-6, "loss $e")
        assertEquals(0, out.refusedSteps)
        assertEquals(9, progress.size)
        assertEquals(1.0, progress.last().fraction)
        assertEquals(out.losses, progress.mapNotNull { it.epochLoss })
        val s = out.state
        assertEquals(manifest.labels + "noise", s.labels)
        assertEquals(s.labels, s.live)
        assertSame(step.loads[1], s.weights) // what the runtime held after the session
        assertContentEquals(noise.data, s.replayFeatures.data)
        assertContentEquals(LongArray(5) { 3 }, s.replayLabels.data)
        assertNotEquals(start.rng, s.rng, "the draws move on")
        assertEquals(manifest.labels, start.labels, "the state given is not changed")
    }

    @Test
    fun `personalising mixes the replay set in and keeps the newest clips`() {
        val enrolled = enrolled()
        val clips = LearnerState.rows(
            TrainData.floats(TrainData.doc("python_state.json").obj("arrays")
                .obj("replay_features").list("values")),
            width,
        )
        val step = RecordingStep { _, _, _ -> StepGradients(0.5f, real) }
        val config = TrainConfig(replayClips = 6)
        val labels = List(clips.shape[0]) { "noise" }
        val outcome = learning(config).personalize(enrolled, step, clips, labels, epochs = 40)
        val out = assertIs<SessionOutcome.Trained>(outcome)
        val (d0x, d0y) = TrainData.bundle.d0()
        var fromReplay = 0
        for (b in step.batches) { // 4 user rows, 4 pool rows: D0's or the replay set's
            for (r in 0 until 4) assertTrue(rowOf(clips.data, b.features, r) >= 0)
            for (r in 4 until 8) {
                val d0 = rowOf(d0x.data, b.features, r)
                val replay = rowOf(enrolled.replayFeatures.data, b.features, r)
                assertTrue(d0 >= 0 || replay >= 0, "a pool row is neither D0's nor replayed")
                assertEquals(if (d0 >= 0) d0y.data[d0] else 3L, b.labels[r])
                if (replay >= 0) fromReplay++
            }
        }
        assertTrue(fromReplay > 0, "the replay set is never drawn")
        assertEquals(List(40) { 0.5 }, out.losses)
        val kept = enrolled.replayFeatures.data.copyOfRange(3 * width, 5 * width) + clips.data
        assertContentEquals(kept, out.state.replayFeatures.data, "the newest 6 clips")
    }

    @Test
    fun `a step with a NaN or Inf loss or gradient is refused and not averaged`() {
        val nan = real.mapValues { (_, g) -> g.copyOf().also { it[0] = Float.NaN } }
        val step = RecordingStep { call, _, _ ->
            when (call) {
                2 -> StepGradients(Float.NaN, real)
                4 -> StepGradients(1f, nan)
                5 -> StepGradients(Float.POSITIVE_INFINITY, real)
                else -> StepGradients(call.toFloat(), real)
            }
        }
        val progress = ArrayList<Progress>()
        val noise = TrainData.noiseFeatures()
        val words = List(5) { "noise" }
        val outcome = learning().personalize(
            enrolled(),
            step,
            noise,
            words,
            epochs = 3,
            listener = { progress += it },
        )
        val out = assertIs<SessionOutcome.Trained>(outcome)
        assertEquals(3, out.refusedSteps)
        assertEquals(6 - 3, step.applied.size)
        assertEquals(listOf(1.0, 3.0, 6.0), out.losses) // 2 steps per epoch; NaN in none
        assertEquals(listOf(true, false, true, false, false, true), progress.map { it.applied })
    }

    @Test
    fun `a cancelled session keeps nothing`() {
        val start = enrolled()
        val cancel = CancelSignal()
        val step = RecordingStep { _, _, _ -> StepGradients(1f, real) }
        val outcome = learning().personalize(
            start,
            step,
            TrainData.noiseFeatures(),
            List(5) { "noise" },
            epochs = 10,
            listener = { if (it.step == 2) cancel.cancel() },
            cancel = cancel,
        )
        assertEquals(2, assertIs<SessionOutcome.Cancelled>(outcome).stepsRun)
        assertEquals(2, step.batches.size)
        val before = RecordingStep { _, _, _ -> error("no step runs once cancelled") }
        val fresh = LearnerState.initial(manifest, TrainData.bundle.weights())
        val cancelled = CancelSignal().apply { cancel() }
        val noise = TrainData.noiseFeatures()
        val early = learning().enrol(fresh, before, "hum", noise, cancel = cancelled)
        assertIs<SessionOutcome.Cancelled>(early)
        assertTrue(before.loads.isEmpty() && before.sessions.isEmpty())
        assertEquals(manifest.labels + "noise", start.labels)
    }

    @Test
    fun `weights that come out NaN are not kept`() {
        val step = RecordingStep { _, _, _ -> StepGradients(1f, real) }
        step.readOverride = TrainData.bundle.weights().mapValues { (_, w) ->
            NdArray.Float32(w.shape, FloatArray(w.size) { Float.NaN })
        }
        val words = List(5) { "noise" }
        val outcome = learning().personalize(enrolled(), step, TrainData.noiseFeatures(), words)
        assertTrue("NaN" in assertIs<SessionOutcome.Diverged>(outcome).reason)
    }

    /** The bundle's state with the noise word enrolled (its five clips in the replay set). */
    private fun enrolled(): LearnerState {
        val step = RecordingStep { _, _, _ -> StepGradients(1f, real) }
        val start = LearnerState.initial(manifest, TrainData.bundle.weights())
        val features = TrainData.noiseFeatures()
        val learning = learning(TrainConfig(imprint = false))
        val outcome = learning.enrol(start, step, "noise", features, epochs = 1)
        return assertIs<SessionOutcome.Trained>(outcome).state
    }

    /** The index of row [r] of [batch] among the rows of [rows], or -1. */
    private fun rowOf(rows: FloatArray, batch: FloatArray, r: Int): Int {
        val wanted = batch.copyOfRange(r * width, (r + 1) * width)
        return (0 until rows.size / width).firstOrNull { i ->
            rows.copyOfRange(i * width, (i + 1) * width).contentEquals(wanted)
        } ?: -1
    }
}
