// The failure converter of every Loopline worker and client (DataConverter.failureConverterPath, also
// bundled into the workflow code): failure messages and stack traces travel as an encoded payload
// (`encodedAttributes`), which the payload codec encrypts like any other. So an error's text never sits in
// Temporal's history in the clear; the server sees "Encoded failure" (docs/security.md).
// Loaded inside the workflow sandbox too: this file may import nothing but @temporalio/common.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
