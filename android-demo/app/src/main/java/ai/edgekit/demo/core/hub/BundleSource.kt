package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.signing.SignedMetadata
import ai.edgekit.demo.core.signing.UpdateRefused
import java.io.File
import java.io.IOException

/**
 * Which bundle the app runs: the version the hub client installed under [hubRoot] (the
 * [HubClient]'s root) when there is one, else the folder pushed by hand ([pushed]). Read from
 * the client's files alone, so that the app opens its bundle without a hub configured or
 * reachable. [revert] goes back to the last good version when the installed one fails to open.
 */
class BundleSource(private val hubRoot: File, private val pushed: File) {
    private val folders = VersionFolders(hubRoot)

    /** The folder to open and, for a hub version, its number. */
    class Choice(val folder: File, val version: Long?) {
        val fromHub: Boolean get() = version != null
    }

    /** The installed hub version's bundle, else the pushed folder. */
    fun choose(): Choice {
        val folder = folders.folder(VersionFolders.CURRENT)
        val metadata = folders.metadata(VersionFolders.CURRENT)
        if (folder == null || metadata == null) return Choice(pushed, null)
        val version = try {
            SignedMetadata.parse(metadata).version
        } catch (e: UpdateRefused) {
            return Choice(pushed, null) // checked when installed: unreadable only if damaged since
        }
        return Choice(File(folder, VersionFolders.BUNDLE), version)
    }

    /** Make the last good version current again (the installed one failed to open); false
     * when there is none to go back to. */
    fun revert(): Boolean = try {
        folders.revert()
    } catch (e: IOException) {
        false
    }
}
