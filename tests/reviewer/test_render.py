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
