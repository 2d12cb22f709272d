"""A small repository per language, with two merged pull requests of the designed kinds.

Each has a ``calc`` library with ``add`` and a test file. PR #1 fixes ``clamp`` (it returned
its low bound for every value above it) and adds the test that catches it: verified, with one
FAIL_TO_PASS test and ``add``'s test passing on both sides. PR #2 refactors ``add`` and adds a
test that passes before and after: ``no_fail_to_pass``. The Go module's PR #1 also adds a
dependency (a fix that changes the dependency files). The histories are dated in 2025, the
era whose toolchain each profile chooses from the commit date; the Go repository from before
modules (no go.mod) in 2017, the mocha one (old mocha, a recursive spec folder) in 2018.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import git

from pipeline.core.languages import GOPATH_MODULE
from pipeline.demo.sample_repo import History

# npm's --before reads the registry's publication times; on this project's machines the
# registry dates jest 29.7.0 to June 2024, so the samples are dated after that
ERA = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class LanguageSample:
    """What a language's sample holds and the lists its verified PR #1 must get."""

    language: str
    initial: dict[str, str]
    fix: dict[str, str]  # PR #1: the fix and its test
    refactor: dict[str, str]  # PR #2: passes on both sides
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    runner: str  # install_config.test_runner
    refactor_passing: tuple[str, ...] = ()  # tests PR #2 must pass on both sides, when given
    era: datetime = ERA  # the commits' date
    name: str = ""  # the sample's name, when not its language's
    # (path, text) the verified task's image holds: what its dependencies were resolved to
    image_files: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return self.name or self.language


GO_MOD = "module example.com/calc\n\ngo 1.21\n"
GO_CALC = """package calc

// Add returns a + b.
func Add(a, b int) int { return a + b }

// Clamp limits v to [lo, hi].
func Clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > lo {
		return lo
	}
	return v
}
"""
GO_TEST = """package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 3) != 5 {
		t.Fatal("Add(2, 3) != 5")
	}
}
"""
GO_FIX = {
    "calc.go": GO_CALC.replace("if v > lo {\n\t\treturn lo", "if v > hi {\n\t\treturn hi"),
    "calc_test.go": GO_TEST
    + "\nfunc TestClamp(t *testing.T) {\n\tif Clamp(5, 0, 10) != 5 {\n"
    + '\t\tt.Fatal("Clamp(5, 0, 10) != 5")\n\t}\n}\n',
}
# the module's PR #1 also adds a dependency, which the setup commit's go.mod does not name:
# its image resolves the fix's go.mod too (dockerfiles.later_states), its runs are offline
GO_UUID = "github.com/google/uuid v1.6.0"
GO_DEPENDENCY = {
    "go.mod": GO_MOD + f"\nrequire {GO_UUID}\n",
    "go.sum": f"{GO_UUID} h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n"
    f"{GO_UUID}/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=\n",
    "version.go": 'package calc\n\nimport "github.com/google/uuid"\n\n'
    "// Version is this build's id.\nvar Version = uuid.Nil.String()\n",
}
GO = LanguageSample(
    "go",
    {"go.mod": GO_MOD, "calc.go": GO_CALC, "calc_test.go": GO_TEST},
    {**GO_FIX, **GO_DEPENDENCY},
    {
        "calc.go": GO_CALC.replace("return a + b", "sum := a + b\n\treturn sum"),
        "calc_test.go": GO_TEST
        + "\nfunc TestAddZero(t *testing.T) {\n\tif Add(0, 0) != 0 {\n"
        + '\t\tt.Fatal("Add(0, 0) != 0")\n\t}\n}\n',
    },
    ["example.com/calc::TestClamp"],
    ["example.com/calc::TestAdd"],
    "go test",
)

JEST = " \u203a"  # how jest joins describe blocks and the title
JS_PACKAGE = """{
  "name": "calc",
  "version": "1.0.0",
  "private": true,
  "scripts": {"test": "jest"},
  "devDependencies": {"jest": "29.7.0"}
}
"""
JS_CALC = """function add(a, b) {
  return a + b;
}

function clamp(v, lo, hi) {
  if (v < lo) return lo;
  if (v > lo) return lo;
  return v;
}

module.exports = { add, clamp };
"""
JS_TEST = """const { add, clamp } = require("../src/calc");

// a server left open (koajs/koa's tests leave theirs): jest waits for it unless --forceExit
require("net").createServer().listen(0, "127.0.0.1");

describe("add", () => {
  test("adds two numbers", () => {
    expect(add(2, 3)).toBe(5);
  });
});
"""
JAVASCRIPT = LanguageSample(
    "javascript",
    {"package.json": JS_PACKAGE, "src/calc.js": JS_CALC, "test/calc.test.js": JS_TEST},
    {
        "src/calc.js": JS_CALC.replace("if (v > lo) return lo;", "if (v > hi) return hi;"),
        "test/calc.test.js": JS_TEST
        + '\ndescribe("clamp", () => {\n  test("keeps a value inside", () => {\n'
        + "    expect(clamp(5, 0, 10)).toBe(5);\n  });\n});\n",
    },
    {
        "src/calc.js": JS_CALC.replace("return a + b;", "const sum = a + b;\n  return sum;"),
        "test/calc.test.js": JS_TEST.replace(
            "  });\n});",
            '  });\n  test("adds zero", () => {\n    expect(add(0, 0)).toBe(0);\n  });\n});',
        ),
    },
    [f"test/calc.test.js::clamp{JEST} keeps a value inside"],
    [f"test/calc.test.js::add{JEST} adds two numbers"],
    "jest",
)

# mocha of 2018 (before 7.2: its JSON report names no file, and before 9.1 it is written on
# standard output), its tests in a folder under test/ that a recursive mocha runs, one of them
# leaving a server open
MOCHA_PACKAGE = """{
  "name": "calc",
  "version": "1.0.0",
  "private": true,
  "scripts": {"test": "mocha --recursive --reporter spec test/"},
  "devDependencies": {"mocha": "5.2.0"}
}
"""
MOCHA_TEST = """const assert = require("assert");
const { add, clamp } = require("../../src/calc");

// a handle left open, as a test's server leaves one (koajs/koa): mocha 4 and later wait for it
// unless told --exit, and the run would hang until its timeout
require("net").createServer().listen(0, "127.0.0.1");

describe("add", function () {
  it("adds two numbers", function () {
    assert.strictEqual(add(2, 3), 5);
  });
});
"""
JAVASCRIPT_MOCHA = LanguageSample(
    "javascript",
    {"package.json": MOCHA_PACKAGE, "src/calc.js": JS_CALC, "test/unit/calc.js": MOCHA_TEST},
    {
        "src/calc.js": JS_CALC.replace("if (v > lo) return lo;", "if (v > hi) return hi;"),
        "test/unit/calc.js": MOCHA_TEST
        + '\ndescribe("clamp", function () {\n  it("keeps a value inside", function () {\n'
        + "    assert.strictEqual(clamp(5, 0, 10), 5);\n  });\n});\n",
    },
    {
        "src/calc.js": JS_CALC.replace("return a + b;", "const sum = a + b;\n  return sum;"),
        "test/unit/calc.js": MOCHA_TEST.replace(
            "  });\n});",
            '  });\n  it("adds zero", function () {\n    assert.strictEqual(add(0, 0), 0);\n'
            "  });\n});",
        ),
    },
    ["clamp keeps a value inside"],
    ["add adds two numbers"],
    "mocha",
    era=datetime(2018, 9, 3, 9, 0, tzinfo=UTC),
    name="javascript-mocha",
)

# Node's own runner (koajs/koa's since 2024): no dependency at all, a nested describe, and a
# server left open, which node --test waits for unless told --test-force-exit
NODE_PACKAGE = """{
  "name": "calc",
  "version": "1.0.0",
  "private": true,
  "engines": {"node": ">= 18"},
  "scripts": {"test": "node --test"}
}
"""
NODE_TEST = """const { describe, it } = require("node:test");
const assert = require("node:assert");
const { add, clamp } = require("../src/calc");

require("net").createServer().listen(0, "127.0.0.1");

describe("calc", () => {
  describe("add", () => {
    it("adds two numbers", () => {
      assert.strictEqual(add(2, 3), 5);
    });
  });
});
"""
JAVASCRIPT_NODE = LanguageSample(
    "javascript",
    {"package.json": NODE_PACKAGE, "src/calc.js": JS_CALC, "__tests__/calc.test.js": NODE_TEST},
    {
        "src/calc.js": JS_CALC.replace("if (v > lo) return lo;", "if (v > hi) return hi;"),
        "__tests__/calc.test.js": NODE_TEST.replace(
            "  });\n});\n",
            '  });\n  it("clamps", () => {\n    assert.strictEqual(clamp(5, 0, 10), 5);\n'
            "  });\n});\n",
        ),
    },
    {
        "src/calc.js": JS_CALC.replace("return a + b;", "const sum = a + b;\n  return sum;"),
        "__tests__/calc.test.js": NODE_TEST.replace(
            "    });\n  });",
            '    });\n    it("adds zero", () => {\n      assert.strictEqual(add(0, 0), 0);\n'
            "    });\n  });",
        ),
    },
    [f"__tests__/calc.test.js::calc{JEST} clamps"],
    [f"__tests__/calc.test.js::calc{JEST} add{JEST} adds two numbers"],
    "node --test",
    era=datetime(2024, 11, 4, 9, 0, tzinfo=UTC),
    name="javascript-node",
)

RUST_TOML = '[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2018"\n'
# a crate that denies warnings and has one (dead code): its tests build only with lints capped,
# as seanmonstar/httparse's did not on a rustc newer than its era's (unexpected_cfgs)
RUST_LIB = """#![deny(warnings)]

fn unused() {}

pub fn add(a: i64, b: i64) -> i64 {
    a + b
}

pub fn clamp(v: i64, lo: i64, hi: i64) -> i64 {
    if v < lo {
        return lo;
    }
    if v > lo {
        return lo;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(2, 3), 5);
    }
}
"""
RUST = LanguageSample(
    "rust",
    {"Cargo.toml": RUST_TOML, "src/lib.rs": RUST_LIB},
    {  # the fix and its test in one file: the test module goes to the test patch
        "src/lib.rs": RUST_LIB.replace(
            "if v > lo {\n        return lo;", "if v > hi {\n        return hi;"
        ).replace(
            "        assert_eq!(add(2, 3), 5);\n    }\n",
            "        assert_eq!(add(2, 3), 5);\n    }\n\n    #[test]\n    fn clamps() {\n"
            "        assert_eq!(clamp(5, 0, 10), 5);\n    }\n",
        ),
    },
    {
        "src/lib.rs": RUST_LIB.replace("    a + b\n", "    let sum = a + b;\n    sum\n"),
        "tests/it.rs": "#[test]\nfn adds_zero() {\n    assert_eq!(calc::add(0, 0), 0);\n}\n",
        # a target with its own main (harness = false): built, then graded by its exit code
        "Cargo.toml": RUST_TOML + '\n[[test]]\nname = "custom"\npath = "tests/custom.rs"\n'
        "harness = false\n",
        "tests/custom.rs": "fn main() {\n    assert_eq!(calc::add(1, 1), 2);\n}\n",
    },
    ["calc:lib::tests::clamps"],
    ["calc:lib::tests::adds"],
    "cargo test",
    refactor_passing=("calc:test:custom::custom", "calc:test:it::adds_zero"),
)

JAVA_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>calc</artifactId>
  <version>1.0</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>5.14.1</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.13.0</version>
      </plugin>
      <plugin>
        <artifactId>maven-surefire-plugin</artifactId>
        <version>3.5.2</version>
      </plugin>
    </plugins>
  </build>
</project>
"""
JAVA_CALC = """package com.example;

public final class Calc {
    public static int add(int a, int b) {
        return a + b;
    }

    public static int clamp(int v, int lo, int hi) {
        if (v < lo) {
            return lo;
        }
        if (v > lo) {
            return lo;
        }
        return v;
    }
}
"""
JAVA_TEST = """package com.example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CalcTest {
    @Test
    void adds() {
        assertEquals(5, Calc.add(2, 3));
    }
}
"""
JAVA_MAIN = "src/main/java/com/example/Calc.java"
JAVA_TEST_PATH = "src/test/java/com/example/CalcTest.java"
JAVA = LanguageSample(
    "java",
    {"pom.xml": JAVA_POM, JAVA_MAIN: JAVA_CALC, JAVA_TEST_PATH: JAVA_TEST},
    {
        JAVA_MAIN: JAVA_CALC.replace(
            "if (v > lo) {\n            return lo;", "if (v > hi) {\n            return hi;"
        ),
        JAVA_TEST_PATH: JAVA_TEST.replace(
            "    }\n}\n",
            "    }\n\n    @Test\n    void clamps() {\n"
            "        assertEquals(5, Calc.clamp(5, 0, 10));\n    }\n}\n",
        ),
    },
    {
        JAVA_MAIN: JAVA_CALC.replace("return a + b;", "int sum = a + b;\n        return sum;"),
        JAVA_TEST_PATH: JAVA_TEST.replace(
            "    }\n}\n",
            "    }\n\n    @Test\n    void addsZero() {\n"
            "        assertEquals(0, Calc.add(0, 0));\n    }\n}\n",
        ),
    },
    ["com.example.CalcTest::clamps"],
    ["com.example.CalcTest::adds"],
    "maven surefire",
)

# GOPATH's days: no go.mod; its image writes one for the module path of the repository's name
# nothing names a version: the image takes each module as of the commits' month, pkg/errors
# v0.8.0 of 2016-09 (v0.9.1 is of 2020)
GOPATH_ERRORS = (
    'package calc\n\nimport "github.com/pkg/errors"\n\n'
    '// ErrEmpty is the error of an empty range.\nvar ErrEmpty = errors.New("empty range")\n'
)
GOPATH = dataclasses.replace(
    GO,
    initial={"calc.go": GO_CALC, "calc_test.go": GO_TEST, "errors.go": GOPATH_ERRORS},
    fix=GO_FIX,
    fail_to_pass=["github.com/example/calc-go-gopath::TestClamp"],
    pass_to_pass=["github.com/example/calc-go-gopath::TestAdd"],
    era=datetime(2017, 3, 6, 9, 0, tzinfo=UTC),
    name="go-gopath",
    image_files=((f"{GOPATH_MODULE}/go.mod", "github.com/pkg/errors v0.8.0"),),
)

SAMPLES = {
    sample.key: sample
    for sample in (GO, GOPATH, JAVASCRIPT, JAVASCRIPT_MOCHA, JAVASCRIPT_NODE, RUST, JAVA)
}


def write_language_repo(path: Path, sample: LanguageSample) -> Path:
    """Create ``sample``'s repository at ``path``: an initial commit, then PRs #1 and #2."""
    repo = git.Repo.init(path, initial_branch="main")
    history = History(repo)
    history.clock = sample.era
    history.commit("Initial commit", {**sample.initial, "README.md": "# calc\n"})
    for number, branch, files, title in (
        (1, "fix-clamp", sample.fix, "Clamp values above the high bound"),
        (2, "tidy-add", sample.refactor, "Name the sum in add"),
    ):
        history.merged_pull(number, branch, files, title)
        history.pull_ref(number, branch)
    return path
