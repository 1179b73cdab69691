package ai.edgekit.demo.core.testing

import ai.edgekit.demo.core.detect.Event
import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import org.junit.Assume.assumeTrue
import java.io.File

/**
 * Where the tests find what the Python SDK wrote and where they write for it to read: folders
 * given as system properties by `make android-check` (tests/android). A test run without them
 * (a plain Gradle run) skips the tests that need them; the check's runner counts a skip as a
 * failure, so there every test runs.
 */
object Fixtures {
    /** tests/vectors/signing: the signed-version vectors the Python device also runs. */
    val vectors: File get() = folder("edgekit.vectors")

    /** Files the Python SDK generated for this run (sequences, times, arrays...). */
    val python: File get() = folder("edgekit.fixtures")

    /** A bundle exported by `edgekit` (manifest.json, model.pte, weights.npz, d0.npz). */
    val bundle: File get() = folder("edgekit.bundle")

    /**
     * A JSON file about the hub this run started (tests/android/hub_served.py): its URL, the
     * public key to pin, the model family published for each case, the admin token.
     */
    val hub: File get() = folder("edgekit.hub")

    /** Where the tests write files for the Python side to read back. */
    val out: File get() = folder("edgekit.out").also { it.mkdirs() }

    /** An event as the Python fixtures write one (`edgekit.device.detect.Event`'s fields). */
    fun event(f: Fields): Event = Event(
        f.string("label"),
        f.double("start_seconds"),
        f.double("end_seconds"),
        f.double("peak_seconds"),
        f.double("score"),
    )

    fun json(name: String): Json = Json.parse(File(python, name).readText(Charsets.UTF_8))

    private fun folder(property: String): File {
        val path = System.getProperty(property)
        assumeTrue("$property is not set: run the tests by `make android-check`", path != null)
        return File(path!!)
    }
}
