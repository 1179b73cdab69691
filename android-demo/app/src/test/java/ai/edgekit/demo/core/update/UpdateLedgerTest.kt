package ai.edgekit.demo.core.update

import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.testing.Fixtures
import ai.edgekit.demo.core.train.LearnerState
import ai.edgekit.demo.core.train.TrainData
import org.junit.Test
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertNotEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue

/**
 * When a trained state's update goes to the hub, with the real bundle's states: once per
 * trained state of a hub version (the last one posted kept in a file that survives a restart),
 * never from a bundle pushed by hand, never before training, never with a word the version
 * lacks in a slot (the hub would refuse it).
 */
class UpdateLedgerTest {
    private val manifest get() = UpdateData.manifest

    /** [state] with the noise word's clips cached in slot [slot], as a session leaves it. */
    private fun trained(state: LearnerState, slot: Long = 1): LearnerState {
        val noise = TrainData.noiseFeatures()
        val n = noise.shape[0]
        return state.copy(
            replayFeatures = noise,
            replayLabels = NdArray.Int64(intArrayOf(n), LongArray(n) { slot }),
        )
    }

    @Test
    fun `an update is due once per trained state of a hub version`() {
        val file = File(Fixtures.out, "ledger/posted.json").apply { delete() }
        val ledger = UpdateLedger(file)
        assertNull(ledger.last())
        val personal = UpdateData.case("personal").state
        assertTrue("pushed by hand" in held(ledger.due(trained(personal), manifest, null)))
        assertTrue("nothing trained" in held(ledger.due(personal, manifest, 1)))

        val due = assertIs<UpdateDue.Due>(ledger.due(trained(personal), manifest, 1))
        assertEquals(TrainData.noiseFeatures().shape[0], due.examples)
        ledger.record(UpdateLedger.Posted(1, due.stateSha256, 17))
        val again = UpdateLedger(file) // after a restart
        assertEquals(17L, again.last()!!.updateId)
        assertTrue("posted already" in held(again.due(trained(personal), manifest, 1)))
        assertIs<UpdateDue.Due>(again.due(trained(personal), manifest, 2), "another version")

        val moved = personal.weights.mapValues { (_, w) ->
            NdArray.Float32(w.shape, w.data.copyOf().also { it[0] += 1f })
        }
        val retrained = assertIs<UpdateDue.Due>(
            again.due(trained(personal.copy(weights = moved)), manifest, 1),
        )
        assertNotEquals(due.stateSha256, retrained.stateSha256)
        val relabelled = trained(personal.copy(live = personal.labels))
        assertNotEquals(
            due.stateSha256,
            UpdateLedger.stateSha256(relabelled, manifest),
            "the live labels are part of what is sent",
        )
    }

    @Test
    fun `an update with a word the version lacks is held`() {
        val ledger = UpdateLedger(File(Fixtures.out, "ledger/foreign.json").apply { delete() })
        val enrolled = trained(UpdateData.case("enrolled").state, slot = 3)
        val reason = held(ledger.due(enrolled, manifest, 1))
        assertTrue("slot 3" in reason && "'noise'" in reason, reason)
        file("ledger/garbage.json").writeText("{not json")
        assertNull(UpdateLedger(file("ledger/garbage.json")).last(), "unreadable: none posted")
    }

    private fun file(path: String) = File(Fixtures.out, path).apply { parentFile.mkdirs() }

    private fun held(due: UpdateDue): String = assertIs<UpdateDue.Held>(due).reason
}
