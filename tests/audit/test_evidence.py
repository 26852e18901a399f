"""A finding's evidence is shown as json.dumps prints it, with exactly the lines of the guilty parts marked."""

from __future__ import annotations

import json

from portal.audit.evidence import evidence_lines, missing_pointers

DOCUMENT = {
    "RoleName": "r",
    "Policies": [
        {"PolicyName": "p", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": ["s3:*", "sqs:*"]}]}}
    ],
    "a/b": {"c~d": 1},
}


def test_the_lines_are_those_of_json_dumps_with_an_indent_of_two():
    lines = evidence_lines(DOCUMENT, [])

    assert "\n".join(line.text for line in lines) == json.dumps(DOCUMENT, indent=2)
    assert [line.number for line in lines] == list(range(1, len(lines) + 1))
    assert not any(line.guilty for line in lines)


def test_a_pointer_marks_its_value_from_first_to_last_line():
    lines = evidence_lines(DOCUMENT, ["/Policies/0/PolicyDocument/Statement/0"])

    guilty = [line.text.strip() for line in lines if line.guilty]
    assert guilty == ["{", '"Effect": "Allow",', '"Action": [', '"s3:*",', '"sqs:*"', "]", "}"]
    assert [line.anchor for line in lines if line.anchor] == ["/Policies/0/PolicyDocument/Statement/0"]


def test_pointers_escape_slashes_and_tildes_as_rfc_6901_says():
    guilty = [line.text.strip() for line in evidence_lines(DOCUMENT, ["/a~1b/c~0d"]) if line.guilty]

    assert guilty == ['"c~d": 1']


def test_a_pointer_to_an_absent_part_marks_nothing_and_is_named_missing():
    document = {"Name": "b", "PublicAccessBlock": None}

    assert not any(line.guilty for line in evidence_lines(document, ["/ServerSideEncryption"]))
    assert missing_pointers(document, ["/ServerSideEncryption", "/PublicAccessBlock", "/Name"]) == [
        "/ServerSideEncryption",
        "/PublicAccessBlock",
    ]


def test_code_spans_of_the_rule_texts_become_code_and_the_rest_is_escaped():
    from portal.audit.templatetags.audit_text import code_spans

    assert code_spans("Allow `s3:*` <b>x</b>") == "Allow <code>s3:*</code> &lt;b&gt;x&lt;/b&gt;"
