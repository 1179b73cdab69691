package ai.edgekit.demo.core.update

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.io.AtomicFiles
import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.json.JsonShapeError
import ai.edgekit.demo.core.train.LearnerState
import java.io.File
import java.io.IOException
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.security.MessageDigest

/** Whether a state's update should go to the hub now. */
sealed class UpdateDue {
    /** Send it: trained on [examples] clips; [stateSha256] identifies what is sent. */
    class Due(val examples: Int, val stateSha256: String) : UpdateDue()

    /** Keep it, for [reason] (for the screen). */
    class Held(val reason: String) : UpdateDue()
}

/**
 * The last training update the phone posted, kept in [file] (a small JSON file, written then
 * renamed), and the rules of the next one ([due]): an update goes out once per trained state,
 * from a hub version, with only the version's own words in its slots (the hub refuses a slot
 * trained for a word the version lacks, e.g. one the user enrolled alone).
 */
class UpdateLedger(val file: File) {
    /** An update the hub accepted: trained from [version], of the state [stateSha256]. */
    class Posted(val version: Long, val stateSha256: String, val updateId: Long)

    /** The last update posted; null when none was, or the file is unreadable. */
    fun last(): Posted? = try {
        val f = Fields.parse(file.readText(Charsets.UTF_8), file.path)
        Posted(f.long("version"), f.string("state_sha256"), f.long("update_id"))
    } catch (e: IOException) {
        null
    } catch (e: JsonShapeError) {
        null
    }

    fun record(posted: Posted) {
        val text = Json.obj(
            "version" to Json.of(posted.version),
            "state_sha256" to Json.of(posted.stateSha256),
            "update_id" to Json.of(posted.updateId),
        ).write()
        AtomicFiles.write(file, text.toByteArray(Charsets.UTF_8))
    }

    /** Whether [state], running on hub version [version] of [manifest] (null: a bundle pushed
     * by hand), has an update to send. */
    fun due(state: LearnerState, manifest: Manifest, version: Long?): UpdateDue {
        if (version == null) {
            return UpdateDue.Held(
                "the app runs a bundle pushed by hand: updates are trained from a hub version",
            )
        }
        val examples = state.replayLabels.size
        if (examples == 0) return UpdateDue.Held("nothing trained on version $version yet")
        val slots = state.slots(manifest.maxClasses)
        for (slot in slots.liveSlots()) {
            val word = state.labels[slot]
            if (manifest.labels.getOrNull(slot) != word) {
                return UpdateDue.Held(
                    "slot $slot holds '$word', a word version $version does not have there: " +
                        "the hub takes updates of the version's own words only",
                )
            }
        }
        val sha = stateSha256(state, manifest)
        val last = last()
        if (last != null && last.version == version && last.stateSha256 == sha) {
            return UpdateDue.Held("this training was posted already (update ${last.updateId})")
        }
        return UpdateDue.Due(examples, sha)
    }

    companion object {
        /** sha256 of what an update carries of [state]: its trainable weights (the manifest's
         * order, float32 bits), its labels and the live ones. */
        fun stateSha256(state: LearnerState, manifest: Manifest): String {
            val hash = MessageDigest.getInstance("SHA-256")
            for (spec in manifest.trainable) {
                val w = state.weights.getValue(spec.name)
                hash.update("${spec.name}\u0000".toByteArray(Charsets.UTF_8))
                val bytes = ByteBuffer.allocate(4 * w.data.size).order(ByteOrder.LITTLE_ENDIAN)
                bytes.asFloatBuffer().put(w.data)
                hash.update(bytes.array())
            }
            hash.update(state.labels.joinToString("\u0000", "L").toByteArray(Charsets.UTF_8))
            hash.update(state.live.joinToString("\u0000", "\u0001").toByteArray(Charsets.UTF_8))
            return hash.digest().joinToString("") { "%02x".format(it) }
        }
    }
}
