# Two entry points a new user needs: `make demo` and `make test`. Both set everything up.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# System libraries: pyrealsense2 needs libusb; Qt needs GL/EGL, fonts, xkbcommon, dbus;
# Qt 6's xcb platform plugin (a real display) loads the X11/xcb libraries of XCB_LIBS
# (`ldd .venv/lib/python3*/site-packages/PySide6/Qt/plugins/platforms/libqxcb.so` and
# Qt's "Qt for X11 Requirements"); the GUI test on a real X server needs Xvfb and a
# small window manager (openbox: full screen, maximise and close as on a desktop).
XCB_LIBS := libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 \
	libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 \
	libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libxcb-glx0 \
	libxkbcommon-x11-0 libxrender1
SYSTEM_LIBS := libusb-1.0-0 libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 \
	$(XCB_LIBS) xvfb openbox
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup system-deps bench clean

demo: $(STAMP)
	$(BIN)/mimicsync demo

test: system-deps $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

system-deps:
	@missing=$$(for p in $(SYSTEM_LIBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system libraries: $$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

bench: $(STAMP)
	$(BIN)/python bench/record_throughput.py

clean:
	rm -rf $(VENV) demo-study *.egg-info
