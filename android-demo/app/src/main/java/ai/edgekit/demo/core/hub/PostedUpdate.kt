package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.json.JsonShapeError

/**
 * The hub's answer to an accepted training update (`POST v1/devices/updates`, 202): the id it
 * keeps the update under, and the version it published from it and others when this update
 * completed a round of aggregation (null: it waits for more devices' updates).
 */
data class PostedUpdate(val updateId: Long, val newVersion: Long?) {
    companion object {
        internal fun parse(reply: Json.Obj): PostedUpdate = try {
            val f = Fields(reply, "the update's reply")
            val made = if (f.isNull("new_version")) null else f.long("new_version")
            PostedUpdate(f.long("update_id"), made)
        } catch (e: JsonShapeError) {
            throw HubError("POST v1/devices/updates", 202, e.message ?: "not readable")
        }
    }
}
