// AGP 9 compiles Kotlin itself ("built-in Kotlin") with the Kotlin Gradle plugin it depends on;
// this raises that plugin to the compiler `make android-check` checks the sources with. Keep the
// version equal to `kotlin` in gradle/libs.versions.toml (tests/android checks that it is).
buildscript {
    dependencies {
        classpath("org.jetbrains.kotlin:kotlin-gradle-plugin:2.4.20")
    }
}

plugins {
    alias(libs.plugins.android.application) apply false
}
