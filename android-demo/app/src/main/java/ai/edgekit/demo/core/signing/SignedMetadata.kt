package ai.edgekit.demo.core.signing

import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.json.JsonError
import java.nio.ByteBuffer
import java.nio.charset.CharacterCodingException
import java.nio.charset.CodingErrorAction
import java.time.Instant

/**
 * A device refuses a bundle version. [reason] is one word shared with the Python device
 * (`edgekit.errors.UpdateRefused`): `key`, `unsigned`, `signature`, `malformed`, `expired`,
 * `other-model`, `rollback` or `files`.
 */
class UpdateRefused(val reason: String, detail: String) :
    Exception("update refused ($reason): $detail")

data class FileEntry(val sha256: String, val size: Long)

/** A bundle version as its signed metadata describes it. */
data class VersionMetadata(
    val family: String,
    val architecture: String,
    val version: Long,
    val expires: Instant,
    val files: Map<String, FileEntry>, // relative POSIX path -> its hash and size
    val manifestDigest: String,
)

/**
 * What a device accepts as a new bundle version: `edgekit/device/signed.py`, rule for rule and
 * reason for reason, so that the app and the Python device give every committed test vector
 * (tests/vectors/signing) the same verdict. The signature is checked over the exact bytes
 * received before they are parsed; then, in order: `unsigned`, `signature`, `malformed`,
 * `expired`, `other-model`, `rollback`; [verifyFiles] gives `files`.
 *
 * Where Python accepts what this reader cannot represent it refuses as `malformed`: a version,
 * size or integer beyond 2^63, and the rarer ISO time forms that [IsoTime] lists.
 */
object SignedMetadata {
    // Python's `^[0-9a-f]{64}$` also matches before one final newline
    private val HEX64 = Regex("[0-9a-f]{64}\n?")

    /** The 32 bytes of a public key written as 64 hex digits (`edgekit-hub keygen`'s `.pub`). */
    fun loadPublicKey(text: String): ByteArray {
        val value = text.trim().lowercase()
        if (!HEX64.matches(value)) {
            throw UpdateRefused("key", "the pinned public key is not 64 hex digits (32 bytes)")
        }
        return ByteArray(Ed25519.KEY_BYTES) { hex(value, it) }
    }

    private fun hex(text: String, i: Int): Byte =
        text.substring(2 * i, 2 * i + 2).toInt(16).toByte()

    /**
     * The version [metadata] describes, if the pinned [publicKey] signed exactly these bytes and
     * the version may replace [installed] (null: none installed) on a device of [family] and
     * [architecture] (null: any) at [now]. Every refusal throws [UpdateRefused].
     */
    fun verify(
        metadata: ByteArray,
        signature: ByteArray?,
        publicKey: ByteArray,
        installed: Long? = null,
        family: String? = null,
        architecture: String? = null,
        now: Instant = Instant.now(),
        check: SignatureCheck = Ed25519,
    ): VersionMetadata {
        if (publicKey.size != Ed25519.KEY_BYTES) {
            throw UpdateRefused("key", "the pinned public key must be ${Ed25519.KEY_BYTES} bytes")
        }
        if (signature == null || signature.size != Ed25519.SIGNATURE_BYTES) {
            throw UpdateRefused("unsigned", "the metadata carries no Ed25519 signature (64 bytes)")
        }
        if (!check.isValid(publicKey, metadata, signature)) {
            throw UpdateRefused(
                "signature",
                "the metadata's signature is not the pinned key's: tampered or re-signed",
            )
        }
        val meta = parse(metadata)
        if (!meta.expires.isAfter(now)) {
            throw UpdateRefused("expired", "version ${meta.version} expired at ${meta.expires}")
        }
        for ((what, wanted, got) in listOf(
            Triple("family", family, meta.family),
            Triple("architecture", architecture, meta.architecture),
        )) {
            if (wanted != null && got != wanted) {
                throw UpdateRefused("other-model", "the version is for $what '$got', not '$wanted'")
            }
        }
        if (installed != null && meta.version < installed) {
            val why = "version ${meta.version} is older than the installed $installed"
            throw UpdateRefused("rollback", why)
        }
        return meta
    }

    /** The signed bytes as metadata; anything unexpected is refused as `malformed`. */
    fun parse(metadata: ByteArray): VersionMetadata {
        val text = try {
            Charsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(metadata)).toString()
        } catch (e: CharacterCodingException) {
            throw malformed("not UTF-8")
        }
        val raw = try {
            Json.parse(text)
        } catch (e: JsonError) {
            throw malformed(e.message ?: "not JSON")
        }
        return fields(raw as? Json.Obj ?: throw malformed("not a JSON object"))
    }

    private fun fields(raw: Json.Obj): VersionMetadata {
        val family = raw.string("family")
        val arch = raw.string("architecture")
        if (family.isEmpty() || arch.isEmpty()) {
            throw malformed("family and architecture must be non-empty strings")
        }
        val version = raw.integer("version")
        if (version < 1) throw malformed("version must be an integer >= 1, got $version")
        val expiresText = raw.string("expires")
        val expires = IsoTime.parse(expiresText)
            ?: throw malformed("expires must be an ISO 8601 time with its offset: '$expiresText'")
        val listed = raw["files"] as? Json.Obj ?: throw malformed("files must be an object")
        val files = LinkedHashMap<String, FileEntry>()
        for ((name, value) in listed.fields) {
            val parts = name.split('/').filter { it.isNotEmpty() && it != "." }
            if (name.isEmpty() || name.startsWith("/") || ".." in parts || '\\' in name) {
                throw malformed("file path '$name' leaves the bundle")
            }
            val entry = value as? Json.Obj ?: throw malformed("$name: not an object")
            val size = entry.integer("size")
            if (size < 0) throw malformed("$name: size must be an integer >= 0")
            val sha = entry["sha256"] ?: throw malformed("$name lacks 'sha256'")
            if (sha !is Json.Str || !HEX64.matches(sha.value)) {
                throw malformed("$name: sha256 must be 64 lowercase hex digits")
            }
            files[name] = FileEntry(sha.value, size)
        }
        if (files.isEmpty()) throw malformed("a version lists at least one file")
        val digest = raw["manifest_digest"] ?: throw malformed("no 'manifest_digest'")
        if (digest !is Json.Str || !HEX64.matches(digest.value)) {
            throw malformed("manifest_digest must be 64 lowercase hex digits")
        }
        return VersionMetadata(family, arch, version, expires, files, digest.value)
    }

    private fun Json.Obj.string(key: String): String =
        (this[key] ?: throw malformed("no '$key'")).let { (it as? Json.Str)?.value }
            ?: throw malformed("'$key' must be a string")

    private fun Json.Obj.integer(key: String): Long {
        val value = this[key] ?: throw malformed("no '$key'")
        if (value !is Json.Num || !value.isInteger) {
            throw malformed("'$key' must be an integer, got $value")
        }
        return value.toLongOrNull() ?: throw malformed("'$key' $value is beyond a 64-bit integer")
    }

    private fun malformed(why: String) =
        UpdateRefused("malformed", "the signed metadata is not readable ($why)")
}
