// Importing a gradient module attaches its builders to ops registered elsewhere (setGradient).
import './math';
import './control';
import './array';
import './reduce';
import './nn';
import './math-extra';
import './nn-extra';
import './array-extra';
import './nn-nchw';
import './recurrent';
import './resize';
import './nn-norm-pool';
import './det';
import './grid-sample';
import './matmul-nbits';
import './linalg';
import './custom-gradient';
