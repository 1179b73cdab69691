pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google() // ExecuTorch's AAR depends on androidx core-ktx
        mavenCentral() // org.pytorch:executorch-android, fbjni, soloader, Bouncy Castle
    }
}

rootProject.name = "edgekit-android-demo"
include(":app")
