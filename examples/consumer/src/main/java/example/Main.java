package example;

import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;

import java.nio.charset.StandardCharsets;

/**
 * A program that uses umh as any project would: the platform jar as a dependency, a helper program
 * (built from src/main/c/adder.c) shipped as a resource in its own jar, run from its bytes.
 */
public final class Main {
    public static void main(String[] args) throws Exception {
        String request = "1 2 3 4 5";
        String reply;
        int status;
        try (UsermodeBlob adder = Umh.loadResource(Main.class, "adder"); // example/adder in this jar
             UsermodeProcess p = adder.fork()) {
            p.pipeToUmh().write(request.getBytes(StandardCharsets.UTF_8));
            p.pipeToUmh().close();
            reply = new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8).trim();
            status = p.waitFor();
        }
        System.out.println("the adder helper says " + request.replace(' ', '+') + " = " + reply + " (exit status " + status + ")");
        System.exit(status == 0 && reply.equals("15") ? 0 : 1);
    }
}
