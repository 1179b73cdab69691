package ai.edgekit.demo.core.train

import org.junit.Test
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue

/**
 * A session started by [TrainingRunner] runs on the training thread, not the caller's, one at
 * a time; cancelling it from the caller's thread stops it before its next step.
 */
class TrainingRunnerTest {
    @Test
    fun `a session runs off the caller's thread and is cancelled from it`() {
        val manifest = TrainData.bundle.manifest
        val (x, y) = TrainData.bundle.d0()
        val learning = Learning(manifest, x, y)
        val gradients = TrainData.arrays(TrainData.cases("sgd_step.json")[0].obj("gradients"))
        val inStep = CountDownLatch(1)
        val release = CountDownLatch(1)
        val step = RecordingStep { call, _, _ ->
            if (call == 3) {
                inStep.countDown()
                release.await(10, TimeUnit.SECONDS) // the runtime busy with a step
            }
            StepGradients(1f, gradients)
        }
        val start = LearnerState.initial(manifest, TrainData.bundle.weights())
        val features = TrainData.noiseFeatures()
        val ended = CountDownLatch(1)
        val outcome = AtomicReference<Result<SessionOutcome>>()
        val steps = AtomicReference(0)
        TrainingRunner().use { runner ->
            val cancel = runner.start(
                { listener, signal ->
                    val words = List(5) { manifest.labels[0] }
                    learning.personalize(
                        start,
                        step,
                        features,
                        words,
                        epochs = 50,
                        listener = listener,
                        cancel = signal,
                    )
                },
                { steps.set(it.step + (it.epoch - 1) * it.steps) },
                { outcome.set(it); ended.countDown() },
            )
            assertTrue(inStep.await(10, TimeUnit.SECONDS))
            assertTrue(runner.isRunning)
            assertFailsWith<IllegalStateException> {
                runner.start({ _, _ -> error("not run") }, {}, {})
            }
            cancel.cancel()
            release.countDown()
            assertTrue(ended.await(10, TimeUnit.SECONDS))
            assertFalse(runner.isRunning)
        }
        val cancelled = assertIs<SessionOutcome.Cancelled>(outcome.get().getOrThrow())
        assertEquals(3, cancelled.stepsRun) // the step in the runtime finished, no other began
        assertEquals(3, steps.get())
        assertEquals(setOf("edgekit-training"), step.threads)
    }

    @Test
    fun `what a session throws reaches its end callback`() {
        val manifest = TrainData.bundle.manifest
        val (x, y) = TrainData.bundle.d0()
        val start = LearnerState.initial(manifest, TrainData.bundle.weights())
        val ended = CountDownLatch(1)
        val outcome = AtomicReference<Result<SessionOutcome>>()
        TrainingRunner().use { runner ->
            runner.start(
                { _, _ ->
                    val step = RecordingStep { _, _, _ -> error("no step for a word not live") }
                    val features = TrainData.noiseFeatures()
                    Learning(manifest, x, y).personalize(start, step, features, List(5) { "hum" })
                },
                {},
                { outcome.set(it); ended.countDown() },
            )
            assertTrue(ended.await(10, TimeUnit.SECONDS))
        }
        val error = outcome.get().exceptionOrNull()
        assertIs<TrainingInputError>(error)
        assertTrue("hum" in error.message!!)
    }
}
