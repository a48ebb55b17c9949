"""The views' text browser never fetches a file, a share or a server; in-page links still reach the view."""

import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QColor, QImage, QTextCursor, QTextDocument
from PySide6.QtWidgets import QTextBrowser

from reviewer.render import render_markdown
from ui.text_browser import SafeTextBrowser

pytestmark = pytest.mark.gui


@pytest.fixture
def probe(tmp_path):
    """A real image on disk, so that a browser that fetches it visibly gets a 7×5 picture."""
    path = tmp_path / "probe.png"
    image = QImage(7, 5, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    assert image.save(str(path))
    return path


def sources(probe, tmp_path):
    relative = "../" * len(tmp_path.parts) + str(probe).lstrip("/")  # resolves to the probe from anywhere
    return [probe.as_uri(), str(probe), relative]


def loaded_size(browser, src):
    resource = browser.document().resource(QTextDocument.ResourceType.ImageResource, QUrl(src))
    return None if resource is None else (resource.width(), resource.height())


def test_a_plain_browser_would_read_the_file(qtbot, probe, tmp_path):
    # The danger the safe browser exists for: Qt reads local files for <img src> by itself.
    browser = QTextBrowser()
    qtbot.addWidget(browser)
    for src in sources(probe, tmp_path):
        browser.setHtml(f'<p>x<img src="{src}"></p>')
        assert loaded_size(browser, src) == (7, 5)


def test_the_safe_browser_reads_no_file_link_or_stylesheet(qtbot, probe, tmp_path):
    css = tmp_path / "evil.css"
    css.write_text("p { color: #ff0000 }", encoding="utf-8")
    browser = SafeTextBrowser()
    qtbot.addWidget(browser)
    assert not browser.openLinks() and not browser.openExternalLinks()
    for src in sources(probe, tmp_path):
        browser.setHtml(f'<html><head><link rel="stylesheet" type="text/css" href="{css}"></head>'
                        f'<body><p>x<img src="{src}"></p></body></html>')
        browser.grab()  # lays out and paints: every resource the page names is asked for
        assert loaded_size(browser, src) in (None, (0, 0))
        assert src in browser.refused and str(css) in browser.refused
        sheet = browser.document().resource(QTextDocument.ResourceType.StyleSheetResource, QUrl(str(css)))
        assert not sheet
    # What the renderer makes of hostile Markdown names nothing to fetch in the first place.
    browser.refused.clear()
    browser.setHtml(render_markdown(f"![alt]({probe}) ![b](../../etc/passwd) ![c](//evil.example/x.png)"))
    browser.grab()
    assert browser.refused == [] and "[image: alt]" in browser.toPlainText()


def test_in_page_links_are_signalled_to_the_view(qtbot):
    browser = SafeTextBrowser()
    qtbot.addWidget(browser)
    browser.resize(400, 200)
    browser.setHtml(render_markdown("See [the chain of command](#chain_of_command) first."))
    browser.show()
    qtbot.waitExposed(browser)
    start = browser.toPlainText().index("chain")
    cursor = QTextCursor(browser.document())
    cursor.setPosition(start + 2)
    where = browser.cursorRect(cursor).center() + QPoint(1, 0)
    with qtbot.waitSignal(browser.anchorClicked, timeout=3000) as clicked:
        qtbot.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert clicked.args[0].fragment() == "chain_of_command"
    assert browser.source().isEmpty()  # the browser itself went nowhere
