package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.io.AtomicFiles
import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import java.io.File

/**
 * The device's registration with one hub, kept in `<root>/hub.json` in the Python device's
 * format (`hub`, `device_id`, `token`, `family`, `architecture`, `channel`), readable by its
 * owner only: the token is the device's password. [toString] leaves the token out.
 */
class HubIdentity(
    val hub: String, // the hub's URL, ending in '/'
    val deviceId: String,
    val token: String,
    val family: String,
    val architecture: String,
    val channel: String,
) {
    fun write(file: File) {
        val json = Json.obj(
            "hub" to Json.of(hub),
            "device_id" to Json.of(deviceId),
            "token" to Json.of(token),
            "family" to Json.of(family),
            "architecture" to Json.of(architecture),
            "channel" to Json.of(channel),
        )
        AtomicFiles.write(file, json.write().toByteArray(Charsets.UTF_8), ownerOnly = true)
    }

    override fun toString() = "HubIdentity($deviceId at $hub: $family/$architecture, $channel)"

    companion object {
        /** The identity in [file]; null when there is none (the device never registered). */
        fun read(file: File): HubIdentity? {
            if (!file.isFile) return null
            val f = Fields.parse(file.readText(Charsets.UTF_8), file.path)
            val channel = if ("channel" in f) f.string("channel") else "stable"
            return HubIdentity(
                f.string("hub"),
                f.string("device_id"),
                f.string("token"),
                f.string("family"),
                f.string("architecture"),
                channel,
            )
        }
    }
}
