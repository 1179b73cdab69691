package ai.edgekit.demo.core.signing

import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.testing.Fixtures
import org.junit.Test
import java.io.File
import java.time.Instant
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** The device's checks of a signed version on the vectors the Python device runs too
 * (tests/vectors/signing/cases.json, written by tests/vectors/make_signing_vectors.py). */
class SignedMetadataTest {
    private val vectors get() = Fixtures.vectors
    private val key get() = SignedMetadata.loadPublicKey(File(vectors, "pinned.pub").readText())

    private fun cases(): List<Fields> =
        (Json.parse(File(vectors, "cases.json").readText()) as Json.Arr).items
            .mapIndexed { i, case -> Fields(case as Json.Obj, "cases.json[$i]") }

    private fun verdict(case: Fields): String {
        fun optional(name: String) = if (case.isNull(name)) null else case.string(name)
        val signature = optional("signature")?.let { File(vectors, it).readBytes() }
        return try {
            val meta = SignedMetadata.verify(
                File(vectors, case.string("metadata")).readBytes(),
                signature,
                key,
                installed = if (case.isNull("installed")) null else case.long("installed"),
                family = optional("family"),
                architecture = optional("architecture"),
                now = IsoTime.parse(case.string("now"))!!,
            )
            optional("files")?.let { verifyFiles(meta, File(vectors, it)) }
            "accept"
        } catch (e: UpdateRefused) {
            e.reason
        }
    }

    @Test
    fun `every vector gets the verdict the Python device gives it`() {
        val cases = cases()
        val wrong = cases.mapNotNull { case ->
            val (got, expected) = verdict(case) to case.string("expect")
            if (got == expected) null else "${case.string("name")}: $got, expected $expected"
        }
        assertEquals(emptyList(), wrong)
        val reasons = cases.map { it.string("expect") }.toSet()
        assertEquals(
            setOf("accept", "unsigned", "signature", "malformed", "expired", "other-model") +
                setOf("rollback", "files"),
            reasons,
        )
    }

    @Test
    fun `an accepted version says what it holds`() {
        val meta = SignedMetadata.verify(
            File(vectors, "v3.json").readBytes(),
            File(vectors, "v3.sig").readBytes(),
            key,
            now = Instant.parse("2026-12-01T00:00:00Z"),
        )
        assertEquals("kws" to "tcresnet", meta.family to meta.architecture)
        assertEquals(3L, meta.version)
        assertEquals(listOf("model.pte", "weights/head.npz"), meta.files.keys.sorted())
        assertEquals("program of version 3".length.toLong(), meta.files.getValue("model.pte").size)
    }

    @Test
    fun `the clock decides expiry`() {
        val data = File(vectors, "v3.json").readBytes()
        val signature = File(vectors, "v3.sig").readBytes()
        val before = Instant.parse("2027-05-31T23:59:59.999999Z")
        SignedMetadata.verify(data, signature, key, now = before)
        val refused = assertFailsWith<UpdateRefused> {
            SignedMetadata.verify(data, signature, key, now = Instant.parse("2027-06-01T00:00:00Z"))
        }
        assertEquals("expired", refused.reason)
    }

    @Test
    fun `the pinned key is 64 hex digits, in any case, around whitespace`() {
        val text = File(vectors, "pinned.pub").readText()
        val loose = SignedMetadata.loadPublicKey("  ${text.trim().uppercase()}\n\n")
        assertTrue(key.contentEquals(loose))
        val hex = text.trim()
        for (bad in listOf("", hex.drop(2), hex + "00", "zz" + hex.drop(2))) {
            val refused = assertFailsWith<UpdateRefused> { SignedMetadata.loadPublicKey(bad) }
            assertEquals("key", refused.reason)
        }
        val short = assertFailsWith<UpdateRefused> {
            SignedMetadata.verify(ByteArray(3), ByteArray(64), ByteArray(31))
        }
        assertEquals("key", short.reason)
    }

    @Test
    fun `a hash may end with one newline, as Python's pattern lets it`() {
        val (a, b) = "a".repeat(64) to "b".repeat(64)
        val meta = """{"family": "kws", "architecture": "a", "version": 1,
            "expires": "2030-01-01T00:00:00Z", "manifest_digest": "$b",
            "files": {"model.pte": {"sha256": "$a\n", "size": 1}}}"""
        val parsed = SignedMetadata.parse(meta.toByteArray())
        assertEquals("$a\n", parsed.files.getValue("model.pte").sha256)
        for (bad in listOf("\n\n", "\r", " ")) {
            val text = meta.replace("$a\\n", a + Json.Str(bad).write().trim('"'))
            val bytes = text.toByteArray()
            val refused = assertFailsWith<UpdateRefused> { SignedMetadata.parse(bytes) }
            assertEquals("malformed", refused.reason)
        }
    }
}
