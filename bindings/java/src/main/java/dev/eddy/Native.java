package dev.eddy;

import java.io.File;
import java.nio.charset.StandardCharsets;

/**
 * The JNI glue (libeddy_jni) and the libeddy it loads. Every method maps to
 * one C function of include/eddy.h; handles are passed as {@code long} and
 * must be live (see {@link Handle}). Failures throw {@link EddyException}.
 *
 * <p>Where the libraries come from (first match wins):
 *
 * <ul>
 *   <li>glue: system property {@code eddy.jni.library} (a file), environment
 *       variable {@code EDDY_JNI_LIB} (a file), else {@code
 *       System.loadLibrary("eddy_jni")}, which searches {@code java.library.path};
 *   <li>libeddy: system property {@code eddy.library} (a file), environment
 *       variable {@code EDDY_LIB} (a file), {@code libeddy.so} in a directory of
 *       {@code java.library.path}, else the dynamic linker's own search
 *       ({@code LD_LIBRARY_PATH}, ld.so.cache, /usr/lib ...).
 * </ul>
 */
final class Native {
    private Native() {}

    static {
        loadGlue();
        String eddy = findEddy();
        try {
            init(cString(eddy));
        } catch (UnsatisfiedLinkError e) {
            if (eddy.indexOf(File.separatorChar) >= 0) throw e; // a file was named: the message says it all
            UnsatisfiedLinkError better = new UnsatisfiedLinkError(e.getMessage()
                    + ". Name the library with -Deddy.library=<path to libeddy.so> or EDDY_LIB, put its directory on "
                    + "java.library.path or LD_LIBRARY_PATH, or install it (cmake --install)");
            better.initCause(e);
            throw better;
        }
    }

    private static void loadGlue() {
        String file = System.getProperty("eddy.jni.library");
        if (file == null || file.isEmpty()) file = System.getenv("EDDY_JNI_LIB");
        if (file != null && !file.isEmpty()) {
            System.load(new File(file).getAbsolutePath());
            return;
        }
        try {
            System.loadLibrary("eddy_jni");
        } catch (UnsatisfiedLinkError e) {
            UnsatisfiedLinkError better = new UnsatisfiedLinkError(
                    "eddy: cannot load the JNI glue libeddy_jni (" + e.getMessage() + "). Build it with "
                            + "`cmake -S bindings/java -B build/java-jni && cmake --build build/java-jni`, then pass "
                            + "-Deddy.jni.library=<path to libeddy_jni.so> or put its directory on java.library.path");
            better.initCause(e);
            throw better;
        }
    }

    /** The libeddy to dlopen: a path, or a bare name for the system search. */
    private static String findEddy() {
        String file = System.getProperty("eddy.library");
        if (file == null || file.isEmpty()) file = System.getenv("EDDY_LIB");
        if (file != null && !file.isEmpty()) return new File(file).getAbsolutePath();
        String name = System.mapLibraryName("eddy");
        String path = System.getProperty("java.library.path", "");
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            File f = new File(dir, name);
            if (f.isFile()) return f.getAbsolutePath();
        }
        return name;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** UTF-8 with a terminating NUL; a NUL inside would silently cut the string. */
    static byte[] cString(String s) {
        if (s == null) return null;
        if (s.indexOf('\0') >= 0) {
            throw new EddyException(Status.INVALID_ARGUMENT, "string contains a NUL character");
        }
        byte[] b = utf8(s);
        byte[] out = new byte[b.length + 1];
        System.arraycopy(b, 0, out, 0, b.length);
        return out;
    }

    /** Java timeouts are long milliseconds; C takes int32 with negatives meaning forever. */
    static int timeout(long ms) {
        if (ms < 0) return -1;
        return (int) Math.min(ms, Integer.MAX_VALUE);
    }

    private static native void init(byte[] libeddyPath);

    static native int headerVersion();

    static native int versionNumber();

    static native String versionString();

    static native String statusName(int status);

    // engine
    static native long engineOpen(byte[] options);

    static native void engineExecute(long engine, byte[] sql);

    static native boolean engineFlush(long engine, int timeoutMs);

    static native long enginePoll(long engine, int timeoutMs);

    static native void engineAdvanceTime(long engine, long nowMs);

    static native byte[] engineStatsJson(long engine);

    static native void engineClose(long engine);

    static native void engineFree(long engine);

    static native void engineStreamSchema(long engine, byte[] stream, long schemaAddress);

    // input
    static native long inputOpen(long engine, byte[] stream);

    static native int inputNumColumns(long input);

    static native int inputColumnType(long input, int col);

    static native int inputColumnIndex(long input, byte[] name);

    static native void inputBeginRow(long input);

    static native void inputAbortRow(long input);

    static native void inputEndRow(long input);

    static native void inputWatermark(long input, long tsMs);

    static native void inputSetNull(long input, int col);

    static native void inputSetBool(long input, int col, boolean v);

    static native void inputSetI32(long input, int col, int v);

    static native void inputSetI64(long input, int col, long v);

    static native void inputSetF32(long input, int col, float v);

    static native void inputSetF64(long input, int col, double v);

    static native void inputSetString(long input, int col, String v);

    static native void inputSetUtf8(long input, int col, byte[] v, int off, int len);

    /** begin_row, the values encoded in buffer[0, len) (see Input.RowEncoder), end_row; aborts the row on failure. */
    static native void inputAppendRow(long input, java.nio.ByteBuffer buffer, int len);

    static native void inputPushArrow(long input, long arrayAddress, long schemaAddress);

    static native void inputClose(long input);

    static native void inputFree(long input);

    // subscription
    static native long subscribe(long engine, byte[] stream);

    static native int subscriptionNumColumns(long sub);

    static native boolean subscriptionNext(long sub, int timeoutMs, long arrayAddress, long schemaAddress);

    static native void subscriptionSetCallback(long sub, Subscription.Dispatcher dispatcher);

    static native void subscriptionFree(long sub);

    static native void batchExport(long batch, long arrayAddress, long schemaAddress);

    static native void normalizeBatch(long arrayAddress, long schemaAddress);
}
