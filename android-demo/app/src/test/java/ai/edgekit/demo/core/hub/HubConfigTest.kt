package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.signing.SignedMetadata
import ai.edgekit.demo.core.testing.Fixtures
import org.junit.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/**
 * `hub.json`, the hub configuration pushed beside the bundle, with the real test hub's URL and
 * its `key.pub` text: read whole (the channel "stable" when left out), and every missing or
 * wrong field refused with a message naming it.
 */
class HubConfigTest {
    private val hub = Fields.parse(Fixtures.hub.readText(Charsets.UTF_8), "the hub's fixture")
    private val key = hub.string("public_key")

    private fun text(vararg fields: Pair<String, Json>): String {
        val base = linkedMapOf<String, Json>(
            "url" to Json.of(hub.string("url")),
            "public_key" to Json.of("$key\n"), // key.pub as written, its newline included
            "family" to Json.of("kws"),
            "architecture" to Json.of(hub.string("architecture")),
        )
        for ((k, v) in fields) if (v == Json.Null) base.remove(k) else base[k] = v
        return Json.Obj(base).write()
    }

    @Test
    fun `a configuration is read whole`() {
        val config = HubConfig.parse(text())
        assertEquals(hub.string("url"), config.url)
        assertContentEquals(SignedMetadata.loadPublicKey(key), config.publicKey)
        assertEquals("kws", config.family)
        assertEquals(hub.string("architecture"), config.architecture)
        assertEquals(HubConfig.DEFAULT_CHANNEL, config.channel)
        assertEquals("beta", HubConfig.parse(text("channel" to Json.of("beta"))).channel)
    }

    @Test
    fun `every missing or wrong field is named`() {
        val cases = listOf(
            "url" to text("url" to Json.Null),
            "url" to text("url" to Json.of("ftp://hub.example")),
            "url" to text("url" to Json.of("https://")),
            "url" to text("url" to Json.of("https://hub.example/?x=1")),
            "url" to text("url" to Json.of("not a url at all")),
            "public_key" to text("public_key" to Json.of(key.dropLast(2))),
            "public_key" to text("public_key" to Json.of(1)),
            "family" to text("family" to Json.of("  ")),
            "architecture" to text("architecture" to Json.Null),
            "channel" to text("channel" to Json.of(true)),
        )
        for ((field, doc) in cases) {
            val e = assertFailsWith<HubConfigError>(doc) { HubConfig.parse(doc, "hub.json") }
            assertTrue("'$field'" in e.message!!, "$doc: ${e.message}")
            assertTrue(e.message!!.startsWith("hub.json"), e.message)
        }
        val notJson = assertFailsWith<HubConfigError> { HubConfig.parse("[1]", "hub.json") }
        assertTrue("JSON object" in notJson.message!!, notJson.message)
    }
}
