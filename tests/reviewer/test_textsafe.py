import json

from reviewer.textsafe import display_offset, display_text, json_terminal_text, terminal_text

RTL = "مرحبا بالعالم · שלום עולם"


def test_terminal_text_escapes_controls_and_bidi_but_keeps_lines_tabs_and_scripts():
    assert terminal_text("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert terminal_text("\x1b]8;;https://x\x07link") == "\\x1b]8;;https://x\\x07link"
    assert terminal_text("\u202eevil\u202c and \u2067x\u2069") == "\\u202eevil\\u202c and \\u2067x\\u2069"
    assert terminal_text("a\u200fb\u061c") == "a\\u200fb\\u061c"
    assert terminal_text("\x9b31m \x7f") == "\\x9b31m \\x7f"  # the 8-bit CSI and DEL
    assert terminal_text("one\r\ntwo\rthree\tfour\n") == "one\ntwo\\x0dthree\tfour\n"
    assert terminal_text(RTL) == RTL
    assert terminal_text("plain, «quoted», ünïcödé ✓") == "plain, «quoted», ünïcödé ✓"


def test_json_text_keeps_the_value_and_only_respells_it():
    value = {"t": "\x1b[31m \u202eevil \x85 \u200f" + RTL}
    text = json_terminal_text(json.dumps(value, ensure_ascii=False))
    assert "\u202e" not in text and "\x85" not in text and "\u200f" not in text and "\x1b" not in text
    assert json.loads(text) == value
    assert RTL in text


def test_display_text_marks_overrides_embeddings_and_isolates_only():
    assert display_text("\u202eevil\u202c") == "⟨RLO⟩evil⟨PDF⟩"
    assert display_text("\u202a\u202b\u202d\u2066\u2067\u2068\u2069") == "⟨LRE⟩⟨RLE⟩⟨LRO⟩⟨LRI⟩⟨RLI⟩⟨FSI⟩⟨PDI⟩"
    assert display_text(RTL + "\u200f") == RTL + "\u200f"
    assert display_text(display_text("\u202ex")) == display_text("\u202ex")


def test_display_offset_follows_the_markers():
    text = "a\u202ebc\u202cd"
    shown = display_text(text)
    for i, char in enumerate(text):
        if char not in "\u202e\u202c":
            assert shown[display_offset(text, i)] == char


def test_a_text_reads_in_the_direction_of_its_first_strong_letter():
    from reviewer.textsafe import base_direction, dir_attributes

    assert base_direction("مرحبا بالعالم, hello") == "rtl"
    assert base_direction("שלום עולם") == "rtl"
    assert base_direction("42 — مرحبا") == "rtl"  # digits and punctuation are not strong
    assert base_direction("hello مرحبا") == "ltr"
    assert base_direction("नमस्ते दुनिया") == "ltr" and base_direction("你好") == "ltr"
    assert base_direction("123 ...") == "ltr" and base_direction("") == "ltr"
    assert base_direction("\u2067שלום\u2069 hello") == "ltr"  # what an isolate holds does not count
    assert dir_attributes("שלום") == ' dir="rtl" align="right"' and dir_attributes("hi") == ""
