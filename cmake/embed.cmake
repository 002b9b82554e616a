# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed.cmake
# Writes OUT defining `const char NAME[]`: the bytes of IN and a NUL, so a
# text that is easier to edit as its own file (an HTML page) is compiled in
# as a C string.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n  " bytes "${bytes}")
get_filename_component(from ${IN} NAME)
file(WRITE ${OUT}.tmp "/* Generated from ${from} by cmake/embed.cmake: edit that file. */\n"
  "const char ${NAME}[] = {\n  ${bytes}0x00};\n")
file(RENAME ${OUT}.tmp ${OUT})
