package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.JsonShapeError
import ai.edgekit.demo.core.signing.SignedMetadata
import ai.edgekit.demo.core.signing.UpdateRefused
import java.net.URI
import java.net.URISyntaxException

/** A hub configuration that cannot be used; the message names the file and the field. */
class HubConfigError(message: String) : Exception(message)

/**
 * Which hub the app syncs with, from `hub.json` pushed beside the bundle (the app's external
 * files folder):
 *
 *     {"url": "https://hub.example", "public_key": "<the hub's key.pub text>",
 *      "family": "kws", "architecture": "tcresnet", "channel": "stable"}
 *
 * [publicKey]: the 32 bytes of the hub's Ed25519 key (`key.pub`: 64 hex digits), pinned: a
 * version it did not sign is refused. [family] and [architecture] name the model the device
 * registers for; [channel] the release channel ("stable" when left out).
 */
class HubConfig(
    val url: String,
    val publicKey: ByteArray,
    val family: String,
    val architecture: String,
    val channel: String,
) {
    companion object {
        const val FILE = "hub.json"
        const val DEFAULT_CHANNEL = "stable"

        /** The configuration in [text] ([where] names the file); [HubConfigError] naming the
         * field for anything missing or wrong. */
        fun parse(text: String, where: String = FILE): HubConfig {
            val f = try {
                Fields.parse(text, where)
            } catch (e: JsonShapeError) {
                throw HubConfigError("$where is not a JSON object (${e.message})")
            }
            fun text(key: String): String {
                val value = try {
                    f.string(key)
                } catch (e: JsonShapeError) {
                    throw HubConfigError("$where: '$key' must be a string (${e.message})")
                }
                if (value.isBlank()) throw HubConfigError("$where: '$key' is empty")
                return value.trim()
            }
            val url = text("url")
            checkUrl(url, where)
            val key = try {
                SignedMetadata.loadPublicKey(text("public_key"))
            } catch (e: UpdateRefused) {
                throw HubConfigError(
                    "$where: 'public_key' must be the hub's key.pub, 64 hex digits (32 bytes)",
                )
            }
            val channel = if ("channel" in f) text("channel") else DEFAULT_CHANNEL
            return HubConfig(url, key, text("family"), text("architecture"), channel)
        }

        private fun checkUrl(url: String, where: String) {
            val uri = try {
                URI(url)
            } catch (e: URISyntaxException) {
                throw HubConfigError("$where: 'url' is not a URL (${e.reason})")
            }
            val scheme = uri.scheme?.lowercase()
            if (scheme != "http" && scheme != "https") {
                throw HubConfigError("$where: 'url' must be https:// (or http://), not $url")
            }
            if (uri.host.isNullOrEmpty()) throw HubConfigError("$where: 'url' names no host: $url")
            if (uri.rawQuery != null || uri.rawFragment != null) {
                throw HubConfigError("$where: 'url' is the hub's address, without ? or #: $url")
            }
        }
    }
}
