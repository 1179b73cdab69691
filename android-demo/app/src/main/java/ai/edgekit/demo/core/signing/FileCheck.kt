package ai.edgekit.demo.core.signing

import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.security.MessageDigest
import java.util.stream.Collectors

/** sha256 of a file in lowercase hex, read in blocks (a bundle's program is megabytes). */
fun sha256Hex(file: File): String {
    val digest = MessageDigest.getInstance("SHA-256")
    file.inputStream().use { input ->
        val block = ByteArray(1 shl 16)
        while (true) {
            val n = input.read(block)
            if (n < 0) break
            digest.update(block, 0, n)
        }
    }
    return digest.digest().joinToString("") { "%02x".format(it) }
}

/**
 * Every file of [meta] is in [folder] with its size and sha256, and nothing else is; otherwise
 * [UpdateRefused] (`files`) names the first file that differs (`verify_files` in
 * `edgekit/device/signed.py`: extra files first, then each listed file in sorted order).
 */
fun verifyFiles(meta: VersionMetadata, folder: File) {
    val root: Path = folder.toPath()
    val present = if (Files.isDirectory(root)) {
        Files.walk(root).use { paths ->
            paths.filter { Files.isRegularFile(it) }
                .map { root.relativize(it).joinToString("/") }
                .collect(Collectors.toList()) // Stream.toList() needs Android 14
        }
    } else {
        emptyList()
    }
    val extra = (present.toSet() - meta.files.keys).sorted()
    if (extra.isNotEmpty()) {
        throw UpdateRefused("files", "${extra[0]} is not a file of version ${meta.version}")
    }
    for ((name, entry) in meta.files.toSortedMap()) {
        val file = File(folder, name)
        if (!file.isFile) {
            throw UpdateRefused("files", "$name of version ${meta.version} is missing")
        }
        val size = file.length()
        if (size != entry.size) {
            throw UpdateRefused("files", "$name is $size bytes, version says ${entry.size}")
        }
        if (sha256Hex(file) != entry.sha256) {
            throw UpdateRefused("files", "$name does not match version ${meta.version}'s sha256")
        }
    }
}
