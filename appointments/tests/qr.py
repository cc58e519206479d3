"""Reading back a slip's QR code in tests, without a camera library.

`svg_matrix` turns the inline SVG segno writes into a grid of modules; `decode` reads a
QR code of versions 1 to 6 (a slip code needs version 1, an old slip's 22-character token
version 2, a poster's address of 30-60 characters versions 3 to 5) in byte, alphanumeric (a slip
code's digits and capitals) or numeric mode the way a scanner does: format bits, unmasking, the
zigzag of codewords, the blocks' data codewords taken back out of their interleaving.
Error correction is not applied: a freshly drawn code has no errors to correct.
"""

import re

ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
FORMAT_BITS = {"L": 1, "M": 0, "Q": 3, "H": 2}
# The data codewords of each block, per version and level (ISO/IEC 18004 table 9), versions 1 to 6:
# from version 7 on a code carries version information and more alignment patterns, not read here.
BLOCKS = {
    1: {"L": [19], "M": [16], "Q": [13], "H": [9]},
    2: {"L": [34], "M": [28], "Q": [22], "H": [16]},
    3: {"L": [55], "M": [44], "Q": [17] * 2, "H": [13] * 2},
    4: {"L": [80], "M": [32] * 2, "Q": [24] * 2, "H": [9] * 4},
    5: {"L": [108], "M": [43] * 2, "Q": [15] * 2 + [16] * 2, "H": [11] * 2 + [12] * 2},
    6: {"L": [68] * 2, "M": [27] * 4, "Q": [19] * 4, "H": [15] * 4},
}
MASKS = [
    lambda x, y: (x + y) % 2 == 0,
    lambda x, y: y % 2 == 0,
    lambda x, y: x % 3 == 0,
    lambda x, y: (x + y) % 3 == 0,
    lambda x, y: (x // 3 + y // 2) % 2 == 0,
    lambda x, y: x * y % 2 + x * y % 3 == 0,
    lambda x, y: (x * y % 2 + x * y % 3) % 2 == 0,
    lambda x, y: ((x + y) % 2 + x * y % 3) % 2 == 0,
]


def svg_matrix(svg: str, border: int = 4) -> list[list[bool]]:
    """The modules (True = dark) of segno's SVG path: `M x y` then `h n` (n dark) and `m dx dy` moves."""
    _x, _y, width, height = map(float, re.search(r'viewBox="([^"]+)"', svg).group(1).split())
    size = int(width) - 2 * border
    assert width == height and size >= 21, "not a square QR code"
    matrix = [[False] * size for _row in range(size)]
    x = y = 0.0
    for command, first, second in re.findall(
        r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", re.search(r' d="([^"]+)"', svg).group(1)
    ):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        else:
            for column in range(int(x), int(x) + int(float(first))):
                matrix[int(y) - border][column - border] = True
            x += float(first)
    return matrix


def _format_bits(level: str, mask: int) -> int:
    data = FORMAT_BITS[level] << 3 | mask
    remainder = data
    for _step in range(10):
        remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537)
    return (data << 10 | remainder) ^ 0x5412


def _read_format(matrix) -> tuple[str, int]:
    cells = [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)] + [(8, 14 - i) for i in range(9, 15)]
    bits = sum(matrix[row][column] << i for i, (row, column) in enumerate(cells))
    for level in FORMAT_BITS:
        for mask in range(8):
            if _format_bits(level, mask) == bits:
                return level, mask
    raise ValueError("unreadable format information")


def _is_function(row: int, column: int, size: int, version: int) -> bool:
    if row == 6 or column == 6:  # timing patterns
        return True
    if (row < 9 and column < 9) or (row < 9 and column >= size - 8) or (row >= size - 8 and column < 9):
        return True  # finders, separators, format information and the dark module
    if version >= 2:
        centre = 4 * version + 10  # the one alignment pattern of versions 2 to 6
        return abs(row - centre) <= 2 and abs(column - centre) <= 2
    return False


def decode(matrix: list[list[bool]]) -> bytes:
    """The payload of a QR code of versions 1 to 6."""
    size = len(matrix)
    version = (size - 17) // 4
    level, mask = _read_format(matrix)
    if version not in BLOCKS:
        raise ValueError(f"version {version} is not read here")
    bits = []
    right = size - 1
    while right >= 1:
        if right == 6:
            right = 5
        upward = ((right + 1) & 2) == 0
        for vertical in range(size):
            row = size - 1 - vertical if upward else vertical
            for column in (right, right - 1):
                if not _is_function(row, column, size, version):
                    bits.append(matrix[row][column] ^ MASKS[mask](column, row))
        right -= 2
    # The codewords interleave the blocks: the first of each block, then the second of each...
    codewords = [int("".join(str(int(bit)) for bit in bits[i : i + 8]), 2) for i in range(0, len(bits) - 7, 8)]
    sizes = BLOCKS[version][level]
    blocks = [[] for _size in sizes]
    position = 0
    for index in range(max(sizes)):
        for block, block_size in zip(blocks, sizes, strict=True):
            if index < block_size:
                block.append(codewords[position])
                position += 1
    bits = [bool(byte >> (7 - i) & 1) for block in blocks for byte in block for i in range(8)]

    def take(count: int) -> int:
        value = 0
        for _bit in range(count):
            value = value << 1 | bits.pop(0)
        return value

    mode = take(4)
    if mode == 0b0100:  # byte
        length = take(8)
        return bytes(take(8) for _byte in range(length))
    if mode == 0b0010:  # alphanumeric: two characters in 11 bits, a last odd one in 6
        length = take(9)
        text = ""
        for _pair in range(length // 2):
            value = take(11)
            text += ALPHANUMERIC[value // 45] + ALPHANUMERIC[value % 45]
        if length % 2:
            text += ALPHANUMERIC[take(6)]
        return text.encode()
    if mode == 0b0001:  # numeric: three digits in 10 bits, then 7 or 4 bits for the rest
        length = take(10)
        text = ""
        while length - len(text) >= 3:
            text += f"{take(10):03d}"
        rest = length - len(text)
        if rest:
            text += f"{take(7 if rest == 2 else 4):0{rest}d}"
        return text.encode()
    raise ValueError(f"mode {mode:04b} is not read here")
