package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.io.AtomicFiles
import ai.edgekit.demo.core.signing.SignedMetadata
import ai.edgekit.demo.core.signing.UpdateRefused
import java.io.File
import java.nio.file.Files
import java.util.UUID

/**
 * The bundle versions a device keeps under its root:
 *
 *     current               the installed version: a pointer file holding its folder's name
 *     previous              the last good version, kept until the next install (revert)
 *     versions/<n>-<id>/    a version as verified: bundle/, metadata.json, metadata.sig
 *
 * A folder is moved into `versions/` whole before a pointer names it, and a pointer is replaced
 * by write, flush, rename ([AtomicFiles.write]), so a reader finds the old version or the new
 * one, never a mix, whatever moment the app is killed at. The Python device uses symbolic links
 * for the pointers (`edgekit/device/hub_client.py`); a pointer file does the same on every file
 * system an app may be given, links or none, and can only name a folder inside `versions/` (a
 * name other than `<n>-<8 hex>` is ignored).
 */
internal class VersionFolders(private val root: File) {
    val versions = File(root, "versions")

    /** The folder [pointer] ([CURRENT] or [PREVIOUS]) names, if it names one that exists. */
    fun folder(pointer: String): File? =
        name(pointer)?.let { File(versions, it) }?.takeIf { it.isDirectory }

    /** The signed metadata bytes of the version [pointer] names; null when it names none. */
    fun metadata(pointer: String): ByteArray? =
        folder(pointer)?.let { File(it, METADATA) }?.takeIf { it.isFile }?.readBytes()

    /**
     * Move [stage] (verified) into `versions/` and make it current; the version it replaces
     * becomes previous, and any other kept version is removed. The version's new folder.
     */
    fun install(stage: File, version: Long): File {
        versions.mkdirs()
        val name = "$version-${UUID.randomUUID().toString().take(8)}"
        val folder = File(versions, name)
        AtomicFiles.move(stage, folder)
        val old = folder(CURRENT)?.name
        point(CURRENT, name)
        if (old != null && old != name) point(PREVIOUS, old) else clear(PREVIOUS)
        for (other in versions.listFiles().orEmpty()) {
            if (other.name != name && other.name != old) AtomicFiles.remove(other)
        }
        return folder
    }

    /** Make the previous version current again; false when there is none to go back to. */
    fun revert(): Boolean {
        val old = name(PREVIOUS) ?: return false
        if (!File(versions, old).isDirectory) return false
        point(CURRENT, old)
        clear(PREVIOUS)
        return true
    }

    /**
     * sha256 -> a kept copy of a file with that hash, from the current version first, then any
     * other version still kept (one reverted from). The caller hashes a copy again before use.
     */
    fun knownFiles(): Map<String, File> {
        val found = LinkedHashMap<String, File>()
        val current = folder(CURRENT)
        val kept = versions.listFiles().orEmpty().filter { it.isDirectory && it != current }
        for (folder in listOfNotNull(current) + kept.sortedBy { it.name }) {
            val meta = try {
                SignedMetadata.parse(File(folder, METADATA).readBytes())
            } catch (e: UpdateRefused) {
                continue
            } catch (e: java.io.IOException) {
                continue
            }
            for ((name, entry) in meta.files) {
                found.putIfAbsent(entry.sha256, File(File(folder, BUNDLE), name))
            }
        }
        return found
    }

    private fun name(pointer: String): String? {
        val file = File(root, pointer)
        if (!file.isFile) return null
        return file.readText(Charsets.UTF_8).trim().takeIf { NAME.matches(it) }
    }

    private fun point(pointer: String, name: String) =
        AtomicFiles.write(File(root, pointer), "$name\n".toByteArray(Charsets.UTF_8))

    private fun clear(pointer: String) {
        if (Files.deleteIfExists(File(root, pointer).toPath())) AtomicFiles.syncFolder(root)
    }

    companion object {
        const val CURRENT = "current"
        const val PREVIOUS = "previous"
        const val BUNDLE = "bundle"
        const val METADATA = "metadata.json"
        const val SIGNATURE = "metadata.sig"
        private val NAME = Regex("[0-9]+-[0-9a-f]{8}")
    }
}
