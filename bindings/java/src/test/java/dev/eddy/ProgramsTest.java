package dev.eddy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Runs programs in a fresh JVM, as a user would: the example, and the library loader's failures. */
@Timeout(120)
class ProgramsTest {
    static final class Result {
        final int exit;
        final String output;

        Result(int exit, String output) {
            this.exit = exit;
            this.output = output;
        }
    }

    /** Runs `mainClass` with the test class path; `props` replace the eddy.* properties of this JVM. */
    static Result java(String mainClass, String... props) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        cmd.add("--add-opens=java.base/java.nio=ALL-UNNAMED");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        boolean custom = props.length > 0;
        if (!custom) {
            cmd.add("-Deddy.jni.library=" + System.getProperty("eddy.jni.library"));
            cmd.add("-Deddy.library=" + System.getProperty("eddy.library"));
        }
        for (String p : props) cmd.add("-D" + p);
        cmd.add(mainClass);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("EDDY_LIB");
        pb.environment().remove("EDDY_JNI_LIB");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Result(p.exitValue(), out);
    }

    @Test
    void quickstartRuns() throws Exception {
        Result r = java("Quickstart");
        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.contains("ACME\t123.5\t100"), r.output);
        assertTrue(r.output.contains("XOX\t99.5\t101"), r.output);
        assertTrue(r.output.contains("the callback saw 4 rows"), r.output);
        assertTrue(r.output.contains("\"name\":\"trades\",\"events_in\":6"), r.output);
    }

    /** Prints what loading eddy gives: the version, or the error. */
    public static final class LoadProbe {
        public static void main(String[] args) {
            try {
                System.out.println("loaded " + Engine.version());
            } catch (Throwable t) {
                StringBuilder sb = new StringBuilder("failed");
                for (Throwable c = t; c != null; c = c.getCause()) sb.append(' ').append(c);
                System.out.println(sb);
            }
        }
    }

    @Test
    void loaderReportsWhatIsMissing() throws Exception {
        String jni = System.getProperty("eddy.jni.library");
        String lib = System.getProperty("eddy.library");
        String probe = LoadProbe.class.getName();

        Result ok = java(probe, "eddy.jni.library=" + jni, "eddy.library=" + lib);
        assertTrue(ok.output.startsWith("loaded "), ok.output);

        // libeddy found through java.library.path.
        Result viaPath = java(probe, "eddy.jni.library=" + jni, "java.library.path=" + new File(lib).getParent());
        assertTrue(viaPath.output.startsWith("loaded "), viaPath.output);

        // The glue through java.library.path too.
        Result both = java(probe, "java.library.path=" + new File(jni).getParent() + File.pathSeparator + new File(lib).getParent());
        assertTrue(both.output.startsWith("loaded "), both.output);

        Result noLib = java(probe, "eddy.jni.library=" + jni, "eddy.library=/nonexistent/libeddy.so");
        assertTrue(noLib.output.contains("cannot load libeddy from '/nonexistent/libeddy.so'"), noLib.output);

        Result notEddy = java(probe, "eddy.jni.library=" + jni, "eddy.library=" + jni);
        assertTrue(notEddy.output.contains("has no symbol eddy_version_number"), notEddy.output);

        Result noGlue = java(probe, "java.library.path=/nonexistent");
        assertTrue(noGlue.output.contains("cannot load the JNI glue libeddy_jni"), noGlue.output);
    }
}
