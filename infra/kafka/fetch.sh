#!/usr/bin/env bash
# Puts the Apache Kafka broker jars (see pom.xml) into $CIVIC_KAFKA_HOME/libs, from Maven
# Central through the local Maven repository (~/.m2). Does nothing when a complete copy for the
# current pom.xml is already there.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

command -v java >/dev/null || die "java not found: install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)"
command -v mvn >/dev/null || die "mvn not found: install Maven 3.8+ (Debian: apt-get install maven)"

# The stamp holds the pom's checksum: a changed pom (new version, new jar) fetches again.
stamp="$KAFKA_LIBS/.complete"
want="$(sha256sum "$KAFKA_DIR/pom.xml" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "Kafka $KAFKA_VERSION jars already in $KAFKA_LIBS"
  exit 0
fi

say "fetching Kafka $KAFKA_VERSION jars into $KAFKA_LIBS (Maven Central via ~/.m2; the first time takes a minute)"
mkdir -p "$CIVIC_KAFKA_HOME"
# Copy into a fresh folder and rename at the end, so an interrupted fetch never looks complete.
partial="$CIVIC_KAFKA_HOME/libs.partial.$$"
build="$CIVIC_KAFKA_HOME/mvn-build.$$"
trap 'rm -rf "$partial" "$build"' EXIT
rm -rf "$partial"
started=$SECONDS
# project.build.directory: keeps Maven's target/ out of the repository.
mkdir -p "$build"
if ! mvn -q -B -f "$KAFKA_DIR/pom.xml" -Dstyle.color=never \
  -Dproject.build.directory="$build" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$partial" >"$build/mvn.log" 2>&1; then
  sed 's/\x1b\[[0-9;]*m//g' "$build/mvn.log" >&2
  die "mvn dependency:copy-dependencies failed (is Maven Central reachable? see ~/.m2/settings.xml for a mirror)"
fi
ls "$partial"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "the fetch did not produce kafka_2.13-$KAFKA_VERSION.jar"
printf '%s\n' "$want" >"$partial/.complete"
# Another fetch (a parallel CI job) may have finished first: keep its copy.
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "another fetch completed meanwhile; using it"
  exit 0
fi
rm -rf "$KAFKA_LIBS"
# The rename is the commit point: the stamp travels inside the folder. -T: never nest the folder.
mv -T "$partial" "$KAFKA_LIBS"
say "fetched $(find "$KAFKA_LIBS" -name "*.jar" | wc -l) jars ($(du -sh "$KAFKA_LIBS" | cut -f1)) in $((SECONDS - started)) s"
