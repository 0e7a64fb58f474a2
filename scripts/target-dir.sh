#!/usr/bin/env bash
# Sets TARGET_DIR to Cargo's target directory as an absolute path: $CARGO_TARGET_DIR if set
# (relative to the checkout, as Cargo reads it), else target/ in the checkout. Source it.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${CARGO_TARGET_DIR:-}" in
  "") TARGET_DIR="$_root/target" ;;
  /*) TARGET_DIR="$CARGO_TARGET_DIR" ;;
  *) TARGET_DIR="$_root/$CARGO_TARGET_DIR" ;;
esac
export TARGET_DIR
