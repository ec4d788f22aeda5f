"""Reading generated PDFs back: which fonts they draw with."""

from __future__ import annotations

import io
import re

from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

# templates/pdf/assets/pdf.css names the bundled font "MARAC Liberation Sans"; WeasyPrint
# writes that family (and the style) as the BaseFont, after a subset tag.
BUNDLED_BASE_FONT = re.compile(r"/[A-Z]{6}\+MARAC-Liberation-Sans(-Bold)?(-Italic)?")
BUNDLED_PROGRAMS = {"LiberationSans", "LiberationSans-Bold", "LiberationSans-Italic", "LiberationSans-BoldItalic"}


def _fonts(resources: DictionaryObject, seen: set[int]) -> list[DictionaryObject]:
    found = [font.get_object() for font in resources.get("/Font", DictionaryObject()).get_object().values()]
    # Stamped copies draw their footer and page numbers from form XObjects, with fonts of their own.
    for xobject in resources.get("/XObject", DictionaryObject()).get_object().values():
        form = xobject.get_object()
        if form.get("/Subtype") == "/Form" and id(form) not in seen and "/Resources" in form:
            seen.add(id(form))
            found += _fonts(form["/Resources"].get_object(), seen)
    return found


def embedded_fonts(pdf: bytes) -> set[tuple[str, str]]:
    """(BaseFont, PostScript name of the embedded font program) of every font any page uses."""
    fonts = set()
    seen: set[int] = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in _fonts(page["/Resources"].get_object(), seen):
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            program = TTFont(io.BytesIO(descriptor["/FontFile2"].get_data()))
            fonts.add((str(font["/BaseFont"]), program["name"].getDebugName(6)))
    return fonts


def assert_only_the_bundled_font(pdf: bytes) -> None:
    fonts = embedded_fonts(pdf)
    assert fonts, "no embedded font"
    for base_font, program in fonts:
        assert BUNDLED_BASE_FONT.fullmatch(base_font) and program in BUNDLED_PROGRAMS, (base_font, program)
