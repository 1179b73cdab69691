package ai.edgekit.demo.core.testing

import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.Request
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener
import kotlin.system.exitProcess

/**
 * Runs the JVM test classes named on the command line and exits non-zero unless every test
 * passed. Unlike JUnitCore's own main, a test skipped by an assumption (a missing fixture) is a
 * failure here, and every test's name and time is printed, so the check's log shows what ran.
 */
object RunAll {
    @JvmStatic
    fun main(args: Array<String>) {
        val problems = ArrayList<Failure>()
        var count = 0
        val core = JUnitCore()
        core.addListener(object : RunListener() {
            private var started = 0L

            override fun testStarted(description: Description) {
                started = System.nanoTime()
                count++
            }

            override fun testFinished(description: Description) {
                val ms = (System.nanoTime() - started) / 1_000_000
                val owner = description.className.substringAfterLast('.')
                println("  $owner.${description.methodName} ($ms ms)")
            }

            override fun testFailure(failure: Failure) {
                problems += failure
            }

            override fun testAssumptionFailure(failure: Failure) {
                problems += failure // skipped for want of a fixture: not a pass
            }
        })
        val classes = args.map { Class.forName(it) }
        val result = core.run(Request.classes(*classes.toTypedArray()))
        for (failure in problems) {
            println("FAILED ${failure.testHeader}")
            println(brief(failure.exception))
        }
        val failed = problems.size
        val ms = result.runTime
        println("${classes.size} classes, $count tests, $failed failed or skipped, $ms ms")
        exitProcess(if (problems.isEmpty() && result.wasSuccessful() && count > 0) 0 else 1)
    }

    /** The error and the frames of the app's own code (not JUnit's or reflection's), causes too. */
    private fun brief(error: Throwable): String = buildString {
        var e: Throwable? = error
        while (e != null) {
            if (e !== error) append("caused by: ")
            appendLine(e.toString())
            for (frame in e.stackTrace.filter { it.className.startsWith("ai.edgekit.") }) {
                appendLine("    at $frame")
            }
            e = e.cause
        }
    }
}
