package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.npy.NdArray
import org.junit.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue

/**
 * The train panel's rules over clips the program really embedded (D0's clips of the bundle's
 * words, the noise word's clips): counts per word, pending and cached; which clips Personalise
 * takes; what Enrol refuses and why; what is left pending once a session trained. A plan goes
 * through the real session code ([Learning], its runtime replaced by a [RecordingStep]) and its
 * clips then count as trained.
 */
class ClipBookTest {
    private val manifest get() = TrainData.bundle.manifest
    private val width get() = manifest.featureSize
    private val gradients by lazy {
        TrainData.arrays(TrainData.cases("sgd_step.json")[0].obj("gradients"))
    }

    private fun row(values: FloatArray, r: Int) = values.copyOfRange(r * width, (r + 1) * width)

    /** Real D0 rows as clips of their label, and the noise word's clips. */
    private fun recorded(d0Rows: List<Int>, noise: Int): ClipSet {
        val (x, y) = TrainData.bundle.d0()
        var set = ClipSet.empty(width)
        for (r in d0Rows) set = set.plus(manifest.labels[y.data[r].toInt()], row(x.data, r))
        val n = TrainData.noiseFeatures()
        for (i in 0 until noise) set = set.plus("noise", row(n.data, i))
        return set
    }

    private fun state(): LearnerState {
        val (x, y) = TrainData.bundle.d0()
        val cached = (0 until y.size).filter { y.data[it] == 2L }.take(3)
        val rows = cached.fold(FloatArray(0)) { all, r -> all + row(x.data, r) }
        return LearnerState.initial(manifest, TrainData.bundle.weights()).copy(
            replayFeatures = LearnerState.rows(rows, width),
            replayLabels = NdArray.Int64(intArrayOf(cached.size), LongArray(cached.size) { 2 }),
        )
    }

    @Test
    fun `counts per word, the clips Personalise takes and what stays pending`() {
        val (_, y) = TrainData.bundle.d0()
        val pending = recorded(listOf(0, 1, y.size - 1), noise = 4).plus(
            "whistle",
            FloatArray(width) { 0.5f },
        )
        val book = ClipBook(state(), manifest.maxClasses, pending)
        val words = book.words()
        assertEquals(manifest.labels + listOf("noise", "whistle"), words.map { it.word })
        val counts = pending.counts()
        for (w in words.take(manifest.labels.size)) {
            assertEquals(WordKind.KNOWN, w.kind)
            assertEquals(counts[w.word] ?: 0, w.pending, w.word)
            assertEquals(if (w.word == manifest.labels[2]) 3 else 0, w.trained, w.word)
        }
        assertEquals(listOf(WordKind.NEW, WordKind.NEW), words.drop(3).map { it.kind })
        assertEquals(listOf(4, 1), words.drop(3).map { it.pending })

        val plan = book.personalise()
        assertEquals(listOf(0, 1, 2), plan.indices)
        assertEquals(pending.words.take(3), plan.labels)
        assertContentEquals(pending.features.data.copyOf(3 * width), plan.features.data)
        assertEquals(List(4) { "noise" } + "whistle", book.afterTraining(plan).words)

        val resting = ClipBook(state().copy(live = manifest.labels.drop(1)), 4, pending)
        assertEquals(WordKind.RESTING, resting.kind(manifest.labels[0]))
        assertTrue(resting.personalise().labels.none { it == manifest.labels[0] })
        val onlyNew = ClipBook(state(), manifest.maxClasses, recorded(emptyList(), noise = 2))
        val none = assertFailsWith<TrainingInputError> { onlyNew.personalise() }
        assertTrue("[noise]" in none.message!!, none.message)
    }

    @Test
    fun `Enrol takes a new word with enough clips and a free slot, and says why not`() {
        val pending = recorded(listOf(0), noise = 5).plus("whistle", FloatArray(width) { 0.5f })
        val book = ClipBook(state(), manifest.maxClasses, pending)
        val plan = book.enrol("  noise ")
        assertEquals("noise", plan.word)
        assertEquals((1..5).toList(), plan.indices)
        assertContentEquals(TrainData.noiseFeatures().data, plan.features.data)

        val few = assertFailsWith<TrainingInputError> { book.enrol("whistle") }
        assertTrue("1 clips" in few.message!! && "${ClipBook.MIN_ENROL_CLIPS}" in few.message!!)
        val known = assertFailsWith<TrainingInputError> { book.enrol(manifest.labels[0]) }
        assertTrue("already" in known.message!!, known.message)
        val full = state().copy(labels = manifest.labels + "go", live = manifest.labels + "go")
        assertFailsWith<NoFreeSlot> { ClipBook(full, manifest.maxClasses, pending).enrol("noise") }
        for (bad in listOf("", "   ", "x".repeat(ClipBook.MAX_WORD_CHARS + 1), "a\u0007b")) {
            assertFailsWith<TrainingInputError>(bad) { ClipBook.word(bad) }
        }
        assertEquals("caf\u00e9", ClipBook.word(" caf\u00e9\n"))
    }

    @Test
    fun `a plan trains through the session and its clips then count as trained`() {
        val (d0x, d0y) = TrainData.bundle.d0()
        val learning = Learning(manifest, d0x, d0y)
        val start = state()
        val pending = recorded(listOf(0, 1), noise = 4)
        val book = ClipBook(start, manifest.maxClasses, pending)
        val step = RecordingStep { _, _, _ -> StepGradients(0.5f, gradients) }
        val plan = book.personalise()
        val out = learning.personalize(start, step, plan.features, plan.labels, epochs = 1)
        val trained = assertIs<SessionOutcome.Trained>(out).state
        val after = ClipBook(trained, manifest.maxClasses, book.afterTraining(plan))
        val counts = after.words().associateBy { it.word }
        for (word in plan.labels.toSet()) {
            assertEquals(0, counts.getValue(word).pending, word)
            val cachedBefore = if (word == manifest.labels[2]) 3 else 0
            val now = plan.labels.count { it == word }
            assertEquals(cachedBefore + now, counts.getValue(word).trained, word)
        }

        val enrol = after.enrol("noise")
        val imprint = TrainData.arrays(TrainData.doc("imprint.json").obj("gradients"))
        val enrolStep = RecordingStep { call, _, _ ->
            StepGradients(0.5f, if (call == 1) imprint else gradients)
        }
        val enrolled = learning.enrol(trained, enrolStep, enrol.word, enrol.features, epochs = 1)
        val last = assertIs<SessionOutcome.Trained>(enrolled).state
        val final = ClipBook(last, manifest.maxClasses, after.afterTraining(enrol))
        assertEquals(manifest.labels + "noise", last.labels)
        assertEquals(0, final.pending.size)
        assertEquals(4, final.words().single { it.word == "noise" }.trained)
        assertEquals(WordKind.KNOWN, final.kind("noise"))
    }
}
