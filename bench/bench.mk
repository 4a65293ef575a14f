# bench/bench.mk: the reference programs of bench/run, built out of tree
# next to an autotools build (they link its libreferd.a and config.h) and
# kept out of the autotools build on purpose: they are measuring tools.
#
#   make -f bench/bench.mk BUILD=/path/to/build [OUT=$(BUILD)/bench]
TOP	:= $(patsubst %/bench/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
BUILD	?= $(TOP)/build
OUT	?= $(BUILD)/bench
CC	?= cc
CFLAGS	?= -O2 -g -Wall -Wextra
CPPFLAGS := -I$(BUILD) -I$(TOP)/core -I$(TOP)/sql \
	$(shell pkg-config --cflags libmariadb)
LIBS	:= $(BUILD)/libreferd.a $(shell pkg-config --libs libmariadb) \
	$(shell pkg-config --libs libcrypto)

all: $(OUT)/floor $(OUT)/sqlfloor

$(OUT)/floor: $(TOP)/bench/floor.c $(BUILD)/libreferd.a
	@mkdir -p $(OUT)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIBS) -lfcgi

$(OUT)/sqlfloor: $(TOP)/bench/sqlfloor.c $(BUILD)/libreferd.a
	@mkdir -p $(OUT)
	$(CC) $(CPPFLAGS) $(CFLAGS) -pthread -o $@ $< $(LIBS)

clean:
	rm -f $(OUT)/floor $(OUT)/sqlfloor

.PHONY: all clean
