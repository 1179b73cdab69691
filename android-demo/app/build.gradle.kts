plugins {
    alias(libs.plugins.android.application) // AGP 9: compiles Kotlin too (built-in Kotlin)
}

android {
    namespace = "ai.edgekit.demo"
    compileSdk = 36

    defaultConfig {
        applicationId = "ai.edgekit.demo"
        minSdk = 26 // java.time and java.nio.file, used by the core; ExecuTorch itself needs 23
        targetSdk = 36
        versionCode = 1
        versionName = "0.1.0"
        ndk {
            abiFilters += listOf("arm64-v8a", "x86_64") // the ABIs ExecuTorch's AAR ships
        }
    }

    buildTypes {
        release {
            // R8 is off until a release build has been checked on a device: Bouncy Castle and
            // ExecuTorch's JNI classes would each need keep rules verified there.
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    packaging {
        jniLibs {
            useLegacyPackaging = false // ExecuTorch's .so files stay page-aligned in the APK
        }
    }
}

dependencies {
    implementation(libs.executorch.android)
    implementation(libs.bouncycastle.prov)

    // the JVM tests of the plain-Kotlin core (make android-check runs them with fixtures)
    testImplementation(libs.junit)
    testImplementation(libs.kotlin.test.junit)
}
