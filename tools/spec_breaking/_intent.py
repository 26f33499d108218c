"""Breaking on purpose: allowed when ``info.version``'s major number was raised AND the
CHANGELOG entry for the new version names the change (its pointer, schema, property,
operationId or path)."""

from __future__ import annotations

import re

from spec_breaking._changes import Change


def major(version: object) -> int | None:
    match = re.match(r"\s*v?(\d+)", str(version))
    return int(match.group(1)) if match else None


def changelog_entry(text: str, version: str) -> tuple[str, str] | None:
    """The heading and body of the CHANGELOG section for ``version``."""
    lines = text.splitlines()
    token = re.compile(r"(?<![\w.])v?" + re.escape(version) + r"(?![\w.])")
    for i, line in enumerate(lines):
        heading = re.match(r"(#{1,6})\s", line)
        if heading and token.search(line):
            level = len(heading.group(1))
            body: list[str] = []
            for following in lines[i + 1 :]:
                other = re.match(r"(#{1,6})\s", following)
                if other and len(other.group(1)) <= level:
                    break
                body.append(following)
            return line.strip(), "\n".join(body)
    return None


def apply_intent(
    changes: list[Change],
    old_version: str,
    new_version: str,
    changelog: str | None,
    changelog_name: str,
) -> str | None:
    """Marks the changes a major bump plus CHANGELOG entry allows; returns what the report
    should say about the version and CHANGELOG, if anything."""
    old_major, new_major = major(old_version), major(new_version)
    if not changes:
        return None
    if old_major is None or new_major is None or new_major <= old_major:
        return (
            f"info.version went {old_version} -> {new_version}: the major number was not "
            "raised, so no break is allowed."
        )
    entry = changelog_entry(changelog, new_version) if changelog is not None else None
    if entry is None:
        where = "does not exist" if changelog is None else f"has no entry for {new_version}"
        return (
            f"info.version's major number was raised ({old_version} -> {new_version}) but "
            f"{changelog_name} {where}: each break must be named there."
        )
    heading, body = entry
    for change in changes:
        named = sorted(n for n in change.names() if n and n in body)
        if named:
            change.allowed_by = (
                f"info.version {old_version} -> {new_version} and {changelog_name} "
                f"'{heading}' names `{named[0]}`"
            )
    unnamed = sum(1 for c in changes if c.allowed_by is None)
    if unnamed:
        return (
            f"info.version's major number was raised ({old_version} -> {new_version}); "
            f"{changelog_name} '{heading}' does not name {unnamed} of the changes below."
        )
    return (
        f"Breaking on purpose: info.version {old_version} -> {new_version} and "
        f"{changelog_name} '{heading}' names every change."
    )
