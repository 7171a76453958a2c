package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * {@code @ExtendWith(NothingLeaked.class)}: each test of the class leaves the fds umh makes as it
 * found them (counted after a warm-up fork, so that the library's own threads and fds exist
 * already) and no zombie child.
 */
public final class NothingLeaked implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(NothingLeaked.class);

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        TestBlobs.warmUp();
        context.getStore(NS).put("fds", TestBlobs.openFds());
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        TestBlobs.assertFds(context.getStore(NS).get("fds", Integer.class));
        assertEquals(List.of(), TestBlobs.zombieChildren(), "zombie children left");
    }
}
