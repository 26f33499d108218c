"""Generate the TypeScript, Java and Go clients of openapi.yaml into generated/.

Called by `make generate` (after the Python client) and by the drift test. A language
whose generator is not installed here is skipped with one line saying why; `make
polyglot-tools` installs them all (npm for TypeScript, PyPI for openapi-generator).

    python polyglot/generate.py [--spec openapi.yaml] [--out generated] [LANG ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".polyglot-tools"
OPENAPI_GENERATOR = TOOLS / "bin" / "openapi-generator-cli"
OPENAPI_TYPESCRIPT = (
    ROOT / "polyglot" / "typescript" / "node_modules" / ".bin" / "openapi-typescript"
)
LANGUAGES = ("typescript", "java", "go")

# openapi-generator options, one list per language; the reasons are in README.md
# ("From other languages").
JAVA_OPTIONS = [
    "-g", "java", "--library", "native",
    "--additional-properties", ",".join([
        "invokerPackage=com.nebulablock.images",
        "apiPackage=com.nebulablock.images.api",
        "modelPackage=com.nebulablock.images.model",
        "groupId=com.nebulablock", "artifactId=nebula-images-client",
        "hideGenerationTimestamp=true",
        "openApiNullable=false",  # jackson-databind-nullable is in no reachable registry
        "annotationLibrary=none",  # no swagger-annotations jar needed either
    ]),
]  # fmt: skip
GO_OPTIONS = [
    "-g", "go",
    "--git-user-id", "nebulablock", "--git-repo-id", "nebula-images-go",
    "--additional-properties", "packageName=nebulaimages,hideGenerationTimestamp=true",
]  # fmt: skip
# Build files of other tools (the Gradle wrapper is a binary jar), CI files and a copy
# of the spec: not the client. pom.xml and go.mod stay.
NOISE = (
    "git_push.sh", ".travis.yml", ".github", "api", ".openapi-generator-ignore", "gradle",
    "gradlew", "gradlew.bat", "build.gradle", "build.sbt", "settings.gradle",
    "gradle.properties", "README.md",
)  # fmt: skip
# Tests and docs that the generator would add are not part of the client.
NO_EXTRAS = ["--global-property", "apiTests=false,modelTests=false,apiDocs=false,modelDocs=false"]


def _run(command: list[str], cwd: Path = ROOT) -> None:
    done = subprocess.run(  # noqa: S603 (commands built here, not from input)
        command, cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def skip_reason(language: str) -> str | None:
    """Why ``language`` cannot be generated on this machine, or None."""
    if language == "typescript":
        if not OPENAPI_TYPESCRIPT.exists():
            return "openapi-typescript is not installed (make polyglot-tools runs npm ci)"
        return None
    if not OPENAPI_GENERATOR.exists():
        return "openapi-generator-cli is not installed (make polyglot-tools)"
    if shutil.which("java") is None:
        return "openapi-generator needs a Java runtime (java is not on PATH)"
    return None


def _openapi_generator(spec: Path, out: Path, options: list[str]) -> None:
    # Into a fresh folder, then swapped in: a rename of a model must not leave the old file.
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "out"
        _run([str(OPENAPI_GENERATOR), "generate", "-i", str(spec), "-o", str(fresh),
              "--skip-validate-spec", *options, *NO_EXTRAS])  # fmt: skip
        for noise in NOISE:
            target = fresh / noise
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(fresh, out)


def generate_typescript(spec: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _run([str(OPENAPI_TYPESCRIPT), str(spec), "-o", str(out / "schema.d.ts")])


def generate_java(spec: Path, out: Path) -> None:
    _openapi_generator(spec, out, JAVA_OPTIONS)


def generate_go(spec: Path, out: Path) -> None:
    _openapi_generator(spec, out, GO_OPTIONS)


GENERATORS: dict[str, Callable[[Path, Path], None]] = {
    "typescript": generate_typescript,
    "java": generate_java,
    "go": generate_go,
}


def generate(spec: Path, out_root: Path, languages: Sequence[str]) -> dict[str, str | None]:
    """Generate each language that can be; the skip reason (or None) per language."""
    reasons = {language: skip_reason(language) for language in languages}
    runnable = [language for language in languages if reasons[language] is None]
    # The two JVM runs take most of the time; they run side by side.
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [
            pool.submit(GENERATORS[language], spec, out_root / language) for language in runnable
        ]
        for future in futures:
            future.result()
    return reasons


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "openapi.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "generated")
    parser.add_argument("languages", nargs="*", metavar="LANG", help=" ".join(LANGUAGES))
    args = parser.parse_args(argv)
    unknown = set(args.languages) - set(LANGUAGES)
    if unknown:
        parser.error(f"unknown language {sorted(unknown)}; choose from {' '.join(LANGUAGES)}")
    try:
        reasons = generate(args.spec.resolve(), args.out.resolve(), args.languages or LANGUAGES)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    for language, reason in reasons.items():
        print(f"generate {language}: {'skipped, ' + reason if reason else 'done'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
