package ai.edgekit.demo.core.program

import ai.edgekit.demo.core.bundle.BundleFolder
import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.testing.Fixtures
import org.junit.Test
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith

/**
 * The inputs the app passes each program method, for a real exported bundle, written to
 * `program_methods.json` for the Python side: tests/android/test_contract.py runs every method
 * the runtime glue calls with exactly these tensors in the Python runtime and checks the
 * outputs the app expects.
 */
class ProgramMethodsTest {
    @Test
    fun `the inputs of every method the app calls are written for the runtime to check`() {
        val m = BundleFolder.open(Fixtures.bundle).manifest
        val calls = listOf(1, m.maxBatch).flatMap { n ->
            val embed = ProgramMethods.embedInputs(m, n)
            val classify = ProgramMethods.classifyInputs(m, n)
            listOf(
                callOf(ProgramMethods.EMBED, embed, ProgramMethods.embedOutputs(m, n)),
                call(ProgramMethods.CLASSIFY, classify, ProgramMethods.classifyOutput(m, n)),
            )
        }
        val train = ProgramMethods.trainStepInputs(m)
        val all = calls + call(ProgramMethods.TRAIN_STEP, train, longArrayOf()) // loss
        File(Fixtures.out, "program_methods.json").writeText(Json.arr(all).write())
        val parts = ProgramMethods.classifyInputs(m, 1).take(m.featureParts.size)
        assertEquals(m.featureSize.toLong(), parts.sumOf { it.size }) // one row of the cache
    }

    @Test
    fun `a batch the program was not exported for is refused before the runtime sees it`() {
        val m: Manifest = BundleFolder.open(Fixtures.bundle).manifest
        assertFailsWith<IllegalArgumentException> { ProgramMethods.embedInputs(m, m.maxBatch + 1) }
        assertFailsWith<IllegalArgumentException> { ProgramMethods.classifyInputs(m, 0) }
    }

    private fun call(method: String, inputs: List<MethodInput>, vararg outputs: LongArray) =
        callOf(method, inputs, outputs.toList())

    private fun callOf(method: String, inputs: List<MethodInput>, outputs: List<LongArray>) =
        Json.obj(
            "method" to Json.of(method),
            "inputs" to Json.arr(
                inputs.map {
                    Json.obj(
                        "name" to Json.of(it.name),
                        "dtype" to Json.of(it.dtype.name.lowercase()),
                        "shape" to shape(it.shape),
                    )
                },
            ),
            "outputs" to Json.arr(outputs.map(::shape)),
        )

    private fun shape(dims: LongArray) = Json.arr(dims.map { Json.of(it) })
}
