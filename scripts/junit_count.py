"""Prints "PASSED FAILED" for a pytest JUnit XML file (a test retried counts once; a test
that failed once counts as failed)."""
import sys
import xml.etree.ElementTree as ET

cases = {}
for tc in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    key = (tc.get("classname"), tc.get("name"))
    tags = {c.tag for c in tc}
    state = "fail" if tags & {"failure", "error"} else "skip" if "skipped" in tags else "pass"
    if cases.get(key) != "fail":
        cases[key] = state
print(sum(s == "pass" for s in cases.values()), sum(s == "fail" for s in cases.values()))
