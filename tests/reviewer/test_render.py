import pytest

from reviewer.render import escape, render_markdown


def test_raw_html_is_shown_as_text():
    html = render_markdown("Hello <script>alert('x')</script> and <img src=x onerror=alert(1)>")
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img" in html


def test_code_blocks_are_escaped_once():
    html = render_markdown("~~~xml\n<user>a &amp; b</user>\n~~~\n")
    assert "&lt;user&gt;a &amp;amp; b&lt;/user&gt;" in html


def test_heading_attribute_blocks_are_dropped_and_markdown_works():
    html = render_markdown("## Be kind {#be_kind authority=user}\n\nSome **bold** text.\n")
    assert "<h2>Be kind</h2>" in html and "<strong>bold</strong>" in html and "authority" not in html


def test_dangerous_links_are_disabled_and_safe_ones_kept():
    html = render_markdown("[a](javascript:alert(1)) [b](https://example.org) [c](#chain_of_command)")
    assert "javascript" not in html
    assert 'href="https://example.org"' in html and 'href="#chain_of_command"' in html


def test_commentary_blocks_render():
    html = render_markdown('!!! meta "Commentary"\n    A note.\n')
    assert 'class="admonition meta"' in html and "A note." in html


def test_escape():
    assert escape('<b a="1">&') == "&lt;b a=&quot;1&quot;&gt;&amp;"


HOSTILE_SOURCES = ["/etc/hostname", "../../etc/passwd", "//evil.example/x.png", "\\\\evil\\share\\x.png",
                   "file:///etc/hostname", "https://evil.example/pixel.png", "data:image/png;base64,AAAA"]


@pytest.mark.parametrize("src", HOSTILE_SOURCES)
def test_no_image_is_rendered_only_its_alt_text(src):
    html = render_markdown(f"Look: ![the alt words]({src}) and ![]({src})")
    assert "<img" not in html and "src=" not in html
    assert "[image: the alt words]" in html and "[image]" in html
    assert "etc/" not in html and "evil" not in html and "AAAA" not in html


@pytest.mark.parametrize("href", ["/etc/hostname", "../../etc/passwd", "//evil.example/x", "\\\\evil\\share\\x",
                                  "file:///etc/hostname", "javascript:alert(1)", "qrc:/x", "data:text/html,x"])
def test_links_other_than_web_mail_and_anchors_lose_their_target(href):
    html = render_markdown(f"[text]({href}) [ok](https://example.org/a) [mail](mailto:a@example.org) [in](#x_y)")
    assert "etc/" not in html and "evil" not in html and "javascript" not in html and "qrc" not in html
    assert "<a>text</a>" in html
    assert 'href="https://example.org/a"' in html and 'href="mailto:a@example.org"' in html
    assert 'href="#x_y"' in html


def test_the_allow_list_keeps_what_markdown_makes():
    html = render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |\n\nText[^1]\n\n[^1]: note\n\n~~~xml\n<a>\n~~~\n")
    assert '<th style="text-align:left">a</th>' in html and '<td style="text-align:right">2</td>' in html
    assert '<a class="footnote-ref" href="#fn:1">1</a>' in html and '<li id="fn:1">' in html
    assert '<code class="language-xml">&lt;a&gt;' in html


def test_bidi_overrides_are_shown_as_markers_and_rtl_text_is_kept():
    rtl = "مرحبا بالعالم · שלום עולם"
    assert escape("\u202eevil\u202c <b>") == "⟨RLO⟩evil⟨PDF⟩ &lt;b&gt;"
    html = render_markdown(f"{rtl}\n\n**\u202eevil\u202c** and \u2067isolated\u2069")
    assert "\u202e" not in html and "\u2067" not in html and "\u2069" not in html
    assert "<strong>⟨RLO⟩evil⟨PDF⟩</strong>" in html and "⟨RLI⟩isolated⟨PDI⟩" in html
    assert rtl in html and escape(rtl) == rtl


def test_each_right_to_left_paragraph_is_marked_by_its_own_first_letter():
    out = render_markdown("שלום עולם, **זה** טקסט\n\nHello there\n\n- مرحبا بكم\n- hi\n\n# עברית\n\n1 + 1 = 2")
    assert '<p dir="rtl" align="right">שלום עולם, <strong>זה</strong> טקסט</p>' in out
    assert "<p>Hello there</p>" in out and "<li>hi</li>" in out and "<p>1 + 1 = 2</p>" in out
    assert '<li dir="rtl" align="right">مرحبا بكم</li>' in out and '<h1 dir="rtl" align="right">עברית</h1>' in out
    assert render_markdown("Hello <b>x</b>") == "<p>Hello &lt;b&gt;x&lt;/b&gt;</p>"  # nothing added, nothing let in
