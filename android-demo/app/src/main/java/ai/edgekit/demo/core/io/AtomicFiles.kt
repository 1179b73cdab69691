package ai.edgekit.demo.core.io

import java.io.File
import java.io.FileOutputStream
import java.io.IOException
import java.nio.file.FileVisitResult
import java.nio.file.Files
import java.nio.file.LinkOption
import java.nio.file.Path
import java.nio.file.SimpleFileVisitor
import java.nio.file.StandardCopyOption
import java.nio.file.StandardOpenOption
import java.nio.file.attribute.BasicFileAttributes
import java.nio.file.attribute.PosixFilePermissions
import java.time.Instant
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.util.UUID

/**
 * Writes that survive a cut of power or process (`edgekit/atomic.py`): a file is written aside,
 * flushed to the disk, then renamed over its name, and the folder is flushed, so a reader sees
 * the old content or the new one, never part of either. The file aside is
 * `.<name>.<random>.tmp`, as the Python SDK names it: a write killed before its rename leaves
 * one, which [cleanTemp] removes.
 */
object AtomicFiles {
    /** [target] holds [bytes]; [ownerOnly]: readable and writable by this user (app) only. */
    fun write(target: File, bytes: ByteArray, ownerOnly: Boolean = false) {
        val folder = target.absoluteFile.parentFile
        folder.mkdirs()
        val tmp = File(folder, ".${target.name}.${UUID.randomUUID().toString().take(8)}.tmp")
        create(tmp.toPath(), ownerOnly)
        try {
            FileOutputStream(tmp).use { out ->
                out.write(bytes)
                out.flush()
                out.fd.sync()
            }
            move(tmp, target)
        } catch (e: IOException) {
            tmp.delete()
            throw e
        }
    }

    /** Rename [file] to `<name>.<tag>-<UTC time>` beside it (`edgekit.device.state_folder.
     * set_aside`: kept for inspection, never overwritten); where it went. */
    fun setAside(file: File, tag: String): File {
        val stamp = STAMP.format(Instant.now())
        val folder = file.absoluteFile.parentFile
        var target = File(folder, "${file.name}.$tag-$stamp")
        var n = 1
        while (target.exists()) target = File(folder, "${file.name}.$tag-$stamp-${n++}")
        Files.move(file.toPath(), target.toPath(), StandardCopyOption.ATOMIC_MOVE)
        syncFolder(folder)
        return target
    }

    /** Delete what writes of [name] in [folder] killed before their rename left; how many. */
    fun cleanTemp(folder: File, name: String): Int = folder.listFiles { f ->
        f.isFile && f.name.startsWith(".$name.") && f.name.endsWith(".tmp")
    }.orEmpty().count { it.delete() }

    /** Rename [from] to [to] in one step (a file or a folder, replacing a file), then flush. */
    fun move(from: File, to: File) {
        Files.move(from.toPath(), to.toPath(), StandardCopyOption.ATOMIC_MOVE)
        syncFolder(to.absoluteFile.parentFile)
    }

    /** A copy of [from] at [to], on the disk before this returns. */
    fun copy(from: File, to: File) {
        from.inputStream().use { input ->
            FileOutputStream(to).use { out ->
                input.copyTo(out, 1 shl 16)
                out.flush()
                out.fd.sync()
            }
        }
    }

    /** Flush a folder's entries (a rename in it) to the disk, where the platform allows it. */
    fun syncFolder(folder: File) {
        try {
            java.nio.channels.FileChannel.open(folder.toPath(), StandardOpenOption.READ)
                .use { it.force(true) }
        } catch (e: IOException) {
            // a platform that cannot open a folder: the rename is left to its file system
        }
    }

    /** Remove a file or a folder with everything in it; a link is removed, never followed. */
    fun remove(path: File) {
        val root = path.toPath()
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) return
        Files.walkFileTree(
            root,
            object : SimpleFileVisitor<Path>() {
                override fun visitFile(file: Path, attrs: BasicFileAttributes): FileVisitResult {
                    Files.deleteIfExists(file)
                    return FileVisitResult.CONTINUE
                }

                override fun postVisitDirectory(dir: Path, exc: IOException?): FileVisitResult {
                    if (exc != null) throw exc
                    Files.deleteIfExists(dir)
                    return FileVisitResult.CONTINUE
                }
            },
        )
    }

    private val STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC)

    private fun create(path: Path, ownerOnly: Boolean) {
        if (!ownerOnly) {
            Files.createFile(path)
            return
        }
        try {
            val mode = PosixFilePermissions.fromString("rw-------")
            Files.createFile(path, PosixFilePermissions.asFileAttribute(mode))
        } catch (e: UnsupportedOperationException) { // not a POSIX file system
            Files.createFile(path)
            val file = path.toFile()
            file.setReadable(false, false)
            file.setWritable(false, false)
            file.setReadable(true, true)
            file.setWritable(true, true)
        }
    }
}
