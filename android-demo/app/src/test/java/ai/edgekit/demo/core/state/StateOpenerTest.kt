package ai.edgekit.demo.core.state

import ai.edgekit.demo.core.testing.Fixtures
import ai.edgekit.demo.core.train.ClipSet
import ai.edgekit.demo.core.train.TrainData
import org.junit.Test
import java.io.File
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue

/**
 * The app's start on disk, with the real bundle: the bundle's own state first, then what was
 * saved; a new version of the bundle through the policy once (the cached clips pending, the old
 * state kept beside, the version's weights saved), a kill between its steps taken up again
 * without a clip twice; another backbone setting the state and the pending clips aside; an
 * unusable state left untouched until the user agrees to start again.
 */
class StateOpenerTest {
    private val manifest get() = Versions.manifest
    private val weights get() = TrainData.bundle.weights()

    private fun folder(name: String) = File(Fixtures.out, "opener/$name").apply {
        deleteRecursively()
        mkdirs()
    }

    /** The real D0 feature rows [rows] as clips of their D0 label. */
    private fun d0Clips(vararg rows: Int): ClipSet {
        val (x, y) = TrainData.bundle.d0()
        val all = ClipSet(x, y.data.map { manifest.labels[it.toInt()] })
        return all.without(all.words.indices - rows.toSet())
    }

    private fun previous(dir: File) = File(dir, "state").listFiles { f ->
        f.name.startsWith("${StateStore.STATE_FILE}.${StateOpener.PREVIOUS}-")
    }.orEmpty().toList()

    @Test
    fun `a first start runs the bundle's own state, the next one what was saved`() {
        val dir = folder("first")
        val opener = StateOpener(dir, manifest, weights)
        val first = assertIs<Opening.Ready>(opener.open())
        assertEquals(manifest.labels, first.state.labels)
        for ((name, w) in weights) {
            assertContentEquals(w.data, first.state.weights.getValue(name).data, name)
        }
        assertEquals(0, first.pending.size)
        assertTrue(first.notes.isEmpty() && !first.personaliseAgain)
        assertTrue(File(dir, StateOpener.ORIGIN).readText().contains(manifest.digest))
        val learned = Versions.learned()
        opener.store.save(learned)
        val next = assertIs<Opening.Ready>(StateOpener(dir, manifest, weights).open())
        assertEquals(learned.labels, next.state.labels)
        assertContentEquals(learned.replayFeatures.data, next.state.replayFeatures.data)
    }

    @Test
    fun `a new version goes through the policy once, its cached clips pending`() {
        val dir = folder("version")
        val opener = StateOpener(dir, manifest, weights).also { it.open() }
        opener.store.save(Versions.learned())
        opener.pending.save(d0Clips(5))
        val oldState = opener.store.file.readBytes()
        val oldOrigin = File(dir, StateOpener.ORIGIN).readBytes()
        val version = Versions.of()
        val newWeights = Versions.weights(0.5f)

        val ready = assertIs<Opening.Ready>(StateOpener(dir, version, newWeights).open())
        assertTrue(ready.personaliseAgain)
        assertEquals(version.labels + "noise", ready.state.labels)
        for ((name, w) in newWeights) {
            assertContentEquals(w.data, ready.state.weights.getValue(name).data, name)
        }
        val pending = d0Clips(5).words +
            List(5) { "noise" } + List(3) { manifest.labels[0] }
        assertEquals(pending, ready.pending.words)
        assertContentEquals(oldState, previous(dir).single().readBytes(), "the old state kept")
        val saved = assertIs<StateLoad.Loaded>(StateStore(File(dir, "state"), version).load())
        assertEquals(ready.state.labels, saved.state.labels)

        val again = assertIs<Opening.Ready>(StateOpener(dir, version, newWeights).open())
        assertFalse(again.personaliseAgain, "the policy runs once per version")
        assertEquals(pending, again.pending.words)

        // killed after the pending clips were written, before the new state: run again
        File(dir, "state/${StateStore.STATE_FILE}").writeBytes(oldState)
        File(dir, StateOpener.ORIGIN).writeBytes(oldOrigin)
        val rerun = assertIs<Opening.Ready>(StateOpener(dir, version, newWeights).open())
        assertTrue(rerun.personaliseAgain)
        assertEquals(pending, rerun.pending.words, "no clip pending twice")
        assertEquals(1, previous(dir).size, "one previous state is kept")
    }

    @Test
    fun `another backbone sets the state and the pending clips aside and runs the version`() {
        val dir = folder("backbone")
        val opener = StateOpener(dir, manifest, weights).also { it.open() }
        opener.store.save(Versions.learned())
        opener.pending.save(d0Clips(1, 2))
        val version = Versions.of(backboneHash = "2".repeat(64))
        val ready = assertIs<Opening.Ready>(StateOpener(dir, version, weights).open())
        assertEquals(version.labels, ready.state.labels)
        assertEquals(0, ready.pending.size)
        assertFalse(ready.personaliseAgain)
        assertTrue(ready.notes.any { "another backbone" in it }, "${ready.notes}")
        assertTrue(ready.notes.any { "embedded by another backbone" in it }, "${ready.notes}")
        val aside = File(dir, "clips").list()!!.filter { it.contains(PendingClips.OTHER_BACKBONE) }
        assertEquals(1, aside.size)
        assertEquals(1, previous(dir).size)
    }

    @Test
    fun `an unusable state is left untouched until the user agrees to start again`() {
        val dir = folder("corrupt")
        val opener = StateOpener(dir, manifest, weights).also { it.open() }
        opener.store.save(Versions.learned())
        val bytes = opener.store.file.readBytes()
        val damaged = bytes.copyOf().also { it[it.size / 2] = (it[it.size / 2] + 1).toByte() }
        opener.store.file.writeBytes(damaged)

        val asked = assertIs<Opening.Corrupt>(StateOpener(dir, manifest, weights).open())
        assertTrue(asked.reason.isNotEmpty())
        val notNow = StateOpener(dir, manifest, weights)
        assertIs<Opening.Corrupt>(notNow.open())
        assertContentEquals(damaged, asked.file.readBytes(), "nothing written over it")

        val ready = notNow.startAgain()
        assertEquals(manifest.labels, ready.state.labels)
        assertFalse(asked.file.exists())
        val aside = File(dir, "state").listFiles { f -> f.name.contains(StateStore.ASIDE_TAG) }!!
        assertContentEquals(damaged, aside.single().readBytes(), "kept for inspection")
        assertTrue(ready.notes.any { aside.single().name in it }, "${ready.notes}")
        assertIs<Opening.Ready>(StateOpener(dir, manifest, weights).open())
    }
}
