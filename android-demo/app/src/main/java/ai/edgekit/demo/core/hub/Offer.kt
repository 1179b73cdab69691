package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.json.JsonShapeError
import ai.edgekit.demo.core.signing.UpdateRefused
import ai.edgekit.demo.core.signing.VersionMetadata

/** One file of an offered version: where to fetch it, and the size and hash the hub claims. */
data class OfferedFile(val path: String, val sha256: String, val size: Long, val url: String)

/**
 * A version the hub offers at check-in (`POST v1/devices/check-in`). [wait] ("storage",
 * "charging", "wifi") says not now, and why. Nothing here is trusted on its own: the client
 * fetches [metadataUrl], checks [signature] over those bytes with the pinned key, and takes the
 * files' sizes and hashes from the signed metadata, which [files] must agree with.
 */
class Offer(
    val number: Long,
    val metadataUrl: String,
    signature: ByteArray, // Ed25519, 64 bytes when the hub is honest
    val files: List<OfferedFile>,
    val totalBytes: Long,
    val wait: String?,
) {
    private val signed = signature.copyOf()

    val signature: ByteArray get() = signed.copyOf()

    /**
     * Each file's URL, once the offer is found to list exactly the files [meta] signs, with
     * their sizes and hashes; otherwise [UpdateRefused] (`files`).
     */
    internal fun urls(meta: VersionMetadata): Map<String, String> {
        val offered = files.associateBy { it.path }
        for (name in (offered.keys + meta.files.keys).sorted()) {
            val f = offered[name]
            val entry = meta.files[name]
            if (f == null || entry == null || f.sha256 != entry.sha256 || f.size != entry.size) {
                throw UpdateRefused("files", "the offer's $name is not version ${meta.version}'s")
            }
        }
        return offered.mapValues { it.value.url }
    }

    override fun toString() = "Offer(version $number, $totalBytes bytes, wait=$wait)"

    companion object {
        /** The offer in a check-in reply's `offer` field; [HubError] when it is not readable. */
        fun parse(raw: Json): Offer = try {
            val f = Fields(raw as? Json.Obj ?: throw JsonShapeError("not an object"), "offer")
            val files = f.objects("files").map {
                val (path, sha256) = it.string("path") to it.string("sha256")
                OfferedFile(path, sha256, it.long("size"), it.string("url"))
            }
            val wait = f.obj.fields["wait"]
            Offer(
                f.long("number"),
                f.string("metadata"),
                hex(f.string("signature")),
                files,
                f.long("total_bytes"),
                when (wait) {
                    null, Json.Null -> null
                    is Json.Str -> wait.value
                    else -> wait.write()
                },
            )
        } catch (e: JsonShapeError) {
            throw HubError("check-in", 200, "the offer is not readable (${e.message})")
        }

        private fun hex(text: String): ByteArray {
            if (text.length % 2 != 0 || text.any { Character.digit(it, 16) < 0 }) {
                throw JsonShapeError("offer: 'signature' must be hex digits")
            }
            return ByteArray(text.length / 2) {
                text.substring(2 * it, 2 * it + 2).toInt(16).toByte()
            }
        }
    }
}
